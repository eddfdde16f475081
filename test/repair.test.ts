// Damaged and corrupt images are never "ready", and `tdx-wizard repair` mends them: an ext4 damaged
// with debugfs, an XFS damaged with xfs_db, a qcow2 with qemu's corrupt bit, an image held by a
// running qemu-storage-daemon, a wrong typed name and a LUKS2 volume. Real volumes, real tools.
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from './helpers/cli.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {damagedExt4, holdWithStorageDaemon, setCorruptBit, makeVolume, randomData, readData, sha256} from './helpers/volumes.js';
import {IN_USE_EXIT} from '../src/errors.js';
import {alive, blockingTool, failingTool, mountsUnder, readyPid, release, SIGNAL_EXIT, sleep, startGroup, waitFor} from './helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let n = 0;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-io', 'qemu-storage-daemon', 'fusermount3', 'mkfs.ext4', 'debugfs', 'e2fsck', 'mkfs.xfs', 'xfs_db', 'xfs_repair', 'cryptsetup');
  tmp = tempDir('tdxw-repair-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});
afterAll(() => tmp?.remove());

function caseDir(): string {
  const dir = join(tmp.path, `c${++n}`);
  mkdirSync(dir);
  return dir;
}

function result(args: string[]): {code: number | null; r: Record<string, unknown>; stderr: string; stdout: string} {
  const out = runCli(['--json', ...args], {env});
  const r = out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result') ?? {};
  return {code: out.code, r, stderr: out.stderr, stdout: out.stdout};
}

const fileSum = (path: string) => sha256(readFileSync(path));

/** The exit code of a read-only `e2fsck -fn` (or `xfs_repair -n`) on a copy of the volume's guest view. */
function fsckReadOnly(path: string, fs: 'ext4' | 'xfs'): number {
  const raw = `${path}.fsck.raw`;
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
  try {
    return spawnSync(fs === 'ext4' ? 'e2fsck' : 'xfs_repair', [fs === 'ext4' ? '-fn' : '-n', raw], {stdio: 'ignore'}).status!;
  } finally {
    rmSync(raw);
  }
}

describe('an ext4 volume damaged with debugfs', () => {
  it('verify says not ready (fs-errors, fix: repair); repair with the typed name leaves it clean (e2fsck -fn exit 0), the data intact and the verdict ready', () => {
    const dir = caseDir();
    const data = randomData();
    const path = damagedExt4(dir, 'vol.qcow2', data);
    const v = result(['verify', path]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.r).toMatchObject({ok: false, verdict: 'fs-errors', fix: expect.stringMatching(new RegExp(`^tdx-wizard repair ${path} `))});

    const r = result(['repair', '--confirm', 'vol.qcow2', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.r).toMatchObject({ok: true, before: 'fs-errors', imageRepair: 'the qcow2 metadata: no errors (qemu-img check)', verdict: 'ready', accepted: true, check: 'qemu-img check: no errors'});
    expect(r.r.fsRepair).toMatch(/^e2fsck: errors were found and corrected \(\d+ fix(es)? answered yes\)/);
    expect(r.stdout).toMatch(/"argv":\["e2fsck","-f","-y",/);
    expect(fsckReadOnly(path, 'ext4')).toBe(0);
    expect(sha256(readData(path))).toBe(sha256(data));
    expect(result(['verify', path])).toMatchObject({code: 0, r: {verdict: 'ready'}});
  });

  it('a wrong typed name: exit 2 with the fix, and not one byte of the image changed', () => {
    const dir = caseDir();
    const path = damagedExt4(dir, 'vol.qcow2', randomData());
    const before = fileSum(path);
    const r = runCli(['repair', '--confirm', 'other.qcow2', path], {env});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--confirm "other\.qcow2" does not match "vol\.qcow2"\..*files it cannot repair are removed or moved to lost\+found/);
    expect(r.stderr).toMatch(/fix: pass --confirm "vol\.qcow2"/);
    expect(runCli(['repair', path], {env})).toMatchObject({code: 2}); // no terminal, no --confirm
    expect(fileSum(path)).toBe(before);
  });

  it('--dry-run prints the plan (check, attach, e2fsck -f -y, detach, check) and runs none of it', () => {
    const dir = caseDir();
    const path = damagedExt4(dir, 'vol.qcow2', randomData());
    const before = fileSum(path);
    const r = runCli(['--dry-run', 'repair', path], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plan: Repair vol\.qcow2; nothing was run/);
    expect(r.stdout).toMatch(/qemu-img check -f qcow2 -- .*vol\.qcow2[\s\S]*qemu-storage-daemon[\s\S]*e2fsck -f -y /);
    expect(fileSum(path)).toBe(before);
  });
});

describe('e2fsck is never signalled during a repair', () => {
  it('Ctrl+C to the CLI\'s process group while e2fsck -f -y runs: it finishes, then the CLI stops with 130; the filesystem is clean', async () => {
    const dir = caseDir();
    const data = randomData();
    const path = damagedExt4(dir, 'vol.qcow2', data);
    const bin = join(dir, 'bin');
    const ready = join(bin, 'ready');
    blockingTool(bin, 'e2fsck', ready, {maxWaitMs: 30_000});
    const run = startGroup(['repair', '--confirm', 'vol.qcow2', path], {...env, PATH: `${bin}:${process.env.PATH}`});
    await waitFor('e2fsck to start', () => existsSync(ready) || run.child.exitCode !== null, 45_000);
    expect(run.child.exitCode, run.output()).toBeNull();
    const toolPid = readyPid(ready);
    process.kill(-run.child.pid!, 'SIGINT');
    await sleep(800);
    expect(alive(toolPid), run.output()).toBe(true);
    expect(run.output()).toMatch(/e2fsck .*must not be interrupted.*stops right after it/s);
    release(ready);
    expect((await run.done).code, run.output()).toBe(SIGNAL_EXIT.SIGINT);
    expect(fsckReadOnly(path, 'ext4')).toBe(0);
    expect(sha256(readData(path))).toBe(sha256(data));
  });
});

describe('a repair that cannot fix everything', () => {
  it('e2fsck exit 4 (errors left uncorrected): exit 1 with what it means and the fix, the attach undone, verify still fs-errors', () => {
    const dir = caseDir();
    const path = damagedExt4(dir, 'vol.qcow2', randomData());
    const bin = join(dir, 'bin');
    failingTool(bin, 'e2fsck', 'vol: ********** WARNING: Filesystem still has errors **********', {code: 4});
    const r = runCli(['repair', '--confirm', 'vol.qcow2', path], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/e2fsck stopped with exit code 4: errors were left uncorrected/);
    expect(r.stderr).toMatch(/fix: run tdx-wizard repair .*vol\.qcow2 again/);
    expect(mountsUnder(dir)).toEqual([]);
    expect(result(['verify', path])).toMatchObject({code: 1, r: {verdict: 'fs-errors'}});
  });
});

describe('an XFS volume', () => {
  it('damaged with xfs_db: repair runs xfs_repair and leaves it clean (xfs_repair -n exit 0)', () => {
    const dir = caseDir();
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'xfs', label: 'tdx-storage', size: '320M'});
    const raw = join(dir, 'vol.raw');
    sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
    sh('xfs_db', ['-x', '-c', 'sb 0', '-c', 'write -d fdblocks 17', '-c', 'write -d icount 999', raw]);
    sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, path]);
    rmSync(raw);
    expect(fsckReadOnly(path, 'xfs')).toBe(1);
    const r = result(['repair', '--role', 'storage', '--era', 'E6', '--confirm', 'vol.qcow2', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.r).toMatchObject({ok: true, fsRepair: 'xfs_repair: the filesystem is consistent now'});
    expect(r.stdout).toMatch(/"argv":\["xfs_repair",/);
    expect(fsckReadOnly(path, 'xfs')).toBe(0);
  });
});

describe('a qcow2 with qemu\'s corrupt bit', () => {
  it('verify says not ready (corrupt-image), QEMU refuses to open it read-write, repair clears the bit and it is ready', () => {
    const dir = caseDir();
    const data = randomData();
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M', data});
    setCorruptBit(path);
    const v = result(['verify', path]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.r).toMatchObject({verdict: 'corrupt-image', fix: expect.stringMatching(new RegExp(`^tdx-wizard repair ${path} \\(qemu-img check -r all`))});
    expect(v.r.reason).toMatch(/QEMU refuses to open it read-write/);
    // qemu-io opens read-write, as the VM does; reading the first sector changes nothing.
    const qemu = spawnSync('qemu-io', ['-c', 'read 0 512', path], {encoding: 'utf8'});
    expect(qemu.status).not.toBe(0);
    expect(qemu.stderr).toMatch(/Image is corrupt; cannot be opened read\/write/);

    const r = result(['repair', '--confirm', 'vol.qcow2', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.r).toMatchObject({imageRepair: 'qemu-img check -r all: repaired (the corrupt bit was set)', verdict: 'ready'});
    expect(r.stdout).toMatch(/"argv":\["qemu-img","check","-r","all","-f","qcow2","--",/);
    const info = JSON.parse(sh('qemu-img', ['info', '--output=json', path])) as {'format-specific': {data: {corrupt: boolean}}};
    expect(info['format-specific'].data.corrupt).toBe(false);
    expect(spawnSync('qemu-io', ['-c', 'read 0 512', path]).status).toBe(0); // opened read-write now
    expect(sha256(readData(path))).toBe(sha256(data));
  });
});

describe('a qcow2 with leaked clusters', () => {
  it('qemu-img check exit 3: repair runs qemu-img check -r all before the filesystem, and the image checks clean after', () => {
    const dir = caseDir();
    const data = randomData();
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M', data});
    // A snapshot raises every cluster's refcount; forgetting it (nb_snapshots, offset 60, set to 0) leaks them.
    sh('qemu-img', ['snapshot', '-c', 's1', path]);
    const bytes = readFileSync(path);
    bytes.writeUInt32BE(0, 60);
    writeFileSync(path, bytes);
    expect(spawnSync('qemu-img', ['check', path]).status).toBe(3);
    const r = result(['repair', '--confirm', 'vol.qcow2', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.r).toMatchObject({imageRepair: 'qemu-img check -r all: repaired (leaked clusters (harmless))', check: 'qemu-img check: no errors', verdict: 'ready'});
    expect(spawnSync('qemu-img', ['check', path]).status).toBe(0);
    expect(sha256(readData(path))).toBe(sha256(data));
  });
});

describe('an image held by a running qemu-storage-daemon', () => {
  it(`verify and inspect say not ready, naming the program and its pid, with exit ${IN_USE_EXIT}; repair is refused with the same code and nothing changes`, async () => {
    const dir = caseDir();
    const path = damagedExt4(dir, 'vol.qcow2', randomData());
    const holder = await holdWithStorageDaemon(path);
    try {
      const before = fileSum(path);
      const who = new RegExp(`in use \\(held by qemu-storage-daemon \\(pid ${holder.pid}\\)\\)`);
      const v = result(['verify', path]);
      expect(v.code, v.stderr).toBe(IN_USE_EXIT);
      expect(v.r).toMatchObject({ok: false, verdict: 'in-use', holders: [{pid: holder.pid, command: 'qemu-storage-daemon'}]});
      expect(v.r.reason).toMatch(who);
      const text = runCli(['verify', path], {env});
      expect(text.stdout).toMatch(/not accepted: .*QEMU would fail to take its image lock/);
      const i = result(['inspect', path]);
      expect(i.code).toBe(IN_USE_EXIT);
      expect(i.r).toMatchObject({verdict: 'in-use', contentVerdict: 'fs-errors', inUse: true});
      const r = runCli(['repair', '--confirm', 'vol.qcow2', path], {env});
      expect(r.code, r.stderr).toBe(IN_USE_EXIT);
      expect(r.stderr).toMatch(who);
      const j = runCli(['--json', 'repair', '--confirm', 'vol.qcow2', path], {env});
      expect(j.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'error')).toMatchObject({kind: 'in-use', exitCode: IN_USE_EXIT});
      expect(r.stderr).not.toMatch(/^\$ (qemu-img check|e2fsck)/m);
      expect(fileSum(path)).toBe(before);
    } finally {
      await holder.release();
    }
  });
});

describe('a set with a member held by another process', () => {
  it(`verify of the set: not ok, that member in-use, exit ${IN_USE_EXIT} as for one volume`, async () => {
    const dir = caseDir();
    const path = makeVolume(dir, 'cache-h.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'});
    expect(runCli(['verify', '--era', 'E1', '--dir', dir, '--hostname', 'h'], {env}).code).toBe(0);
    const holder = await holdWithStorageDaemon(path);
    try {
      const v = result(['verify', '--era', 'E1', '--dir', dir, '--hostname', 'h']);
      expect(v.code, v.stderr).toBe(IN_USE_EXIT);
      expect(v.r).toMatchObject({ok: false, volumes: [{role: 'cache', verdict: 'in-use', accepted: false}]});
    } finally {
      await holder.release();
    }
  });
});

describe('a LUKS2 volume', () => {
  it('is refused (its filesystem is the guest\'s, inside the encryption), exit 2, unchanged', () => {
    for (const label of ['tdx-cache', 'other']) {
      const dir = caseDir();
      const path = makeVolume(dir, 'vol.qcow2', {fs: 'luks2', label, size: '64M'});
      const before = fileSum(path);
      const r = runCli(['repair', '--confirm', 'vol.qcow2', path], {env});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(label === 'tdx-cache' ? /a production guest encrypted it/ : /LUKS-encrypted: its filesystem is inside the encryption/);
      expect(fileSum(path)).toBe(before);
    }
  });
});
