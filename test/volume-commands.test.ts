import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from './helpers/cli.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {holdImage, makeVolume, randomData, readData, sha256} from './helpers/volumes.js';
import {IN_USE_EXIT} from '../src/errors.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-nbd', 'qemu-storage-daemon', 'mkfs.ext4', 'e2label', 'e2fsck', 'resize2fs', 'cryptsetup', 'mkfs.xfs', 'debugfs');
  tmp = tempDir('tdxw-vol-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), CI: 'true'};
  dir = join(tmp.path, 'volumes');
  mkdirSync(dir);
});
afterAll(() => tmp.remove());

function inspect(path: string): Record<string, unknown> {
  const r = runCli(['inspect', '--json', path], {env});
  const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
  expect(result, r.stderr).toBeDefined();
  return result;
}

describe('inspect and verify: every verdict, read-only', () => {
  const cases: Array<[string, Parameters<typeof makeVolume>[2], string, RegExp, number]> = [
    ['ready.qcow2', {fs: 'ext4', label: 'tdx-cache'}, 'ready', /the E4 guest will accept it as its cache volume/, 0],
    ['provisioned.qcow2', {fs: 'luks2', label: 'tdx-cache'}, 'provisioned', /production guest.*Never reformat/, 0],
    ['typo.qcow2', {fs: 'ext4', label: 'tdx-cache-storage'}, 'wrong-label', /old documentation/, 1],
    ['other.qcow2', {fs: 'ext4', label: 'models'}, 'wrong-label', /"models", but the guest looks for "tdx-cache"/, 1],
    ['luks1.qcow2', {fs: 'luks1'}, 'wrong-label', /LUKS1 has no label/, 1],
    ['xfs.qcow2', {fs: 'xfs', label: 'tdx-cache'}, 'wrong-filesystem', /xfs labelled "tdx-cache", but the E4 debug guest mounts its cache volume as ext4/, 1],
    ['empty.qcow2', {fs: 'empty'}, 'empty', /empty/, 1],
    ['raw-named.qcow2', {fs: 'ext4', label: 'tdx-cache', format: 'raw'}, 'wrong-format', /raw image but its name says qcow2/, 1],
  ];
  for (const [name, spec, verdict, reason, verifyCode] of cases) {
    it(`${name}: ${verdict}`, () => {
      const path = makeVolume(dir, name, spec);
      const before = snapshot(dir);
      const info = inspect(path);
      expect(info).toMatchObject({verdict, inUse: false, path});
      expect(info.reason).toMatch(reason);
      expect(info).toHaveProperty('format');
      expect(info).toHaveProperty('virtualSize', 2 ** 30);
      expect(info).toHaveProperty('filesystem');
      expect(info).toHaveProperty('label');
      const v = runCli(['verify', path], {env});
      expect(v.code).toBe(verifyCode);
      if (verifyCode) expect(v.stdout).toMatch(/fix: |not accepted/);
      expect(snapshot(dir)).toEqual(before);
    });
  }

  it('a broken qcow2 is unreadable, with the reason', () => {
    const path = join(dir, 'broken.qcow2');
    writeFileSync(path, Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(100, 0xff)]));
    const info = inspect(path);
    expect(info.verdict).toBe('unreadable');
    expect(runCli(['verify', path], {env}).code).toBe(1);
  });

  it('sees an image held by a running qemu-nbd, and says by whom', async () => {
    const path = makeVolume(dir, 'held.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const holder = await holdImage(path);
    try {
      const info = inspect(path);
      expect(info.inUse).toBe(true);
      expect(String(info.inUseDetail)).toMatch(new RegExp(`qemu-nbd \\(pid ${holder.pid}\\)`));
      // Ready as content, but QEMU would fail on the lock: not ready while it is held.
      expect(info).toMatchObject({verdict: 'in-use', accepted: false, contentVerdict: 'ready'});
    } finally {
      await holder.release();
    }
  });

  it('verifies a 5000G volume without attaching it', () => {
    const path = join(dir, 'big.qcow2');
    expect(runCli(['create', path, '5000G'], {env}).code).toBe(0);
    const r = runCli(['verify', path], {env});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok: /);
  });

  it('bad paths: exit 2', () => {
    for (const bad of ['nbd:localhost:10809', join(dir, 'missing.qcow2'), dir]) {
      const r = runCli(['verify', bad], {env});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/protocol name|does not exist|not a regular file/);
    }
  });
});

describe('--dry-run prints the plan of every flow command, and changes nothing', () => {
  it('format, relabel and resize print the commands they would run, as create does', () => {
    const volume = makeVolume(dir, 'plan.qcow2', {fs: 'ext4', label: 'models', data: randomData()});
    const before = sha256(readFileSync(volume));
    for (const [args, step] of [
      [['format', volume, '--confirm', 'plan.qcow2'], /mkfs\.ext4 -F -L tdx-cache /],
      [['relabel', volume], /e2label .* tdx-cache/],
      [['resize', volume, '+1G'], /qemu-img resize .*plan\.qcow2/],
    ] as const) {
      const r = runCli(['--dry-run', ...args], {env});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^# plan: .*; nothing was run$/m);
      expect(r.stdout).toMatch(step);
      // The detach reads the daemon's pid from its pid file when the plan is run (not a quoted, dead '$(...)').
      expect(r.stdout).toMatch(/^sh -c 'kill -TERM "\$\(cat "\$1"\)"' detach \/\S+\/daemon\.pid$/m);
      expect(sha256(readFileSync(volume))).toBe(before);
    }
  });
});

describe('relabel keeps the data', () => {
  it('relabels ext4 (the old documentation label) and the data reads back the same', () => {
    const data = randomData();
    const path = makeVolume(dir, 'relabel-ext4.qcow2', {fs: 'ext4', label: 'tdx-cache-storage', data});
    const r = runCli(['relabel', '--yes', path], {env});
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"tdx-cache-storag" -> "tdx-cache"/);
    expect(inspect(path)).toMatchObject({verdict: 'ready', label: 'tdx-cache'});
    expect(sha256(readData(path))).toBe(sha256(data));
    expect(sh('qemu-img', ['check', path])).toMatch(/No errors/);
    expect(runCli(['verify', path], {env}).code).toBe(0);
  });

  it('relabels a LUKS2 header without the key (one no guest labelled: a guest\'s own is refused)', () => {
    const path = makeVolume(dir, 'relabel-luks.qcow2', {fs: 'luks2', label: 'tdx-cache-storag'});
    const uuid = inspect(path).uuid;
    const r = runCli(['relabel', '--yes', path], {env});
    expect(r.code).toBe(0);
    expect(inspect(path)).toMatchObject({verdict: 'provisioned', label: 'tdx-cache', uuid});
  });

  it('without a terminal and without --yes it asks for the flag and changes nothing', () => {
    const path = makeVolume(dir, 'relabel-ask.qcow2', {fs: 'ext4', label: 'wrong'});
    const before = snapshot(dir);
    const r = runCli(['relabel', path], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pass --yes/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses an image in use and leaves it untouched', async () => {
    const path = makeVolume(dir, 'relabel-held.qcow2', {fs: 'ext4', label: 'wrong'});
    const holder = await holdImage(path);
    try {
      const r = runCli(['relabel', '--yes', path], {env});
      expect(r.code).toBe(IN_USE_EXIT);
      expect(r.stderr).toMatch(/in use \(held by qemu-nbd/);
    } finally {
      await holder.release();
    }
    expect(inspect(path)).toMatchObject({label: 'wrong'});
  });

  it('relabels XFS (E5x, E6) with xfs_admin, the UUID kept and the filesystem clean; a label over XFS\'s 12 bytes is refused before anything runs', () => {
    const path = makeVolume(dir, 'relabel-xfs.qcow2', {fs: 'xfs', label: 'x'});
    const uuid = inspect(path).uuid;
    const dry = runCli(['--dry-run', 'relabel', '--era', 'E6', path], {env});
    expect(dry.stdout).toMatch(/xfs_admin -L tdx-cache /);
    const r = runCli(['relabel', '--yes', '--era', 'E6', path], {env});
    expect(r.stderr + r.stdout, r.stderr).toMatch(/"x" -> "tdx-cache"/);
    expect(r.code).toBe(0);
    expect(inspect(path)).toMatchObject({filesystem: 'xfs', label: 'tdx-cache', uuid});
    expect(sh('qemu-img', ['check', path])).toMatch(/No errors/);
    const before = snapshot(dir);
    const long = runCli(['relabel', '--yes', '--era', 'E6', '--label', 'tdx-cache-main', path], {env});
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/the label "tdx-cache-main" is 14 bytes; XFS keeps at most 12 and xfs_admin would silently cut it to "tdx-cache-ma"/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses what it cannot label (a volume with no filesystem)', () => {
    const path = join(dir, 'relabel-empty.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', path, '64M']);
    const r = runCli(['relabel', '--yes', path], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only ext4, XFS and LUKS2 volumes can be relabelled/);
  });
});

describe('resize grows safely', () => {
  it('grows a volume by +1G: container, e2fsck, resize2fs; data intact', () => {
    const data = randomData();
    const path = makeVolume(dir, 'grow.qcow2', {fs: 'ext4', label: 'tdx-cache', data});
    const r = runCli(['resize', '--yes', path, '+1G'], {env});
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    const info = inspect(path);
    expect(info).toMatchObject({virtualSize: 2 * 2 ** 30, verdict: 'ready'});
    const raw = `${path}.check.raw`;
    sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
    const dump = sh('dumpe2fs', ['-h', raw]);
    const blocks = Number(/^Block count:\s+(\d+)/m.exec(dump)![1]) * Number(/^Block size:\s+(\d+)/m.exec(dump)![1]);
    expect(blocks).toBe(2 * 2 ** 30);
    sh('rm', ['-f', raw]);
    expect(sha256(readData(path))).toBe(sha256(data));
  });

  it('refuses to shrink and explains why', () => {
    const path = makeVolume(dir, 'shrink.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const before = snapshot(dir);
    const r = runCli(['resize', '--yes', path, '512M'], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/shrinking is refused.*resize2fs -P/s);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses XFS, saying how to grow it by hand (xfs_growfs grows only a mounted XFS)', () => {
    const path = makeVolume(dir, 'grow-xfs.raw', {fs: 'xfs', label: 'tdx-cache', format: 'raw'});
    const before = snapshot(dir);
    const r = runCli(['resize', '--yes', path, '+1G'], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/holds xfs; only ext4 volumes can be grown here/);
    expect(r.stderr).toMatch(/fix: .*truncate -s \+1G .*grow-xfs\.raw.*xfs_growfs/);
    expect(r.stderr).not.toMatch(/qemu-img convert/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('refuses LUKS volumes: the guest owns them', () => {
    const path = makeVolume(dir, 'grow-luks.qcow2', {fs: 'luks2', label: 'tdx-cache'});
    const r = runCli(['resize', '--yes', path, '+1G'], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LUKS-encrypted/);
  });

  it('refuses an image in use', async () => {
    const path = makeVolume(dir, 'grow-held.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const holder = await holdImage(path);
    try {
      const r = runCli(['resize', '--yes', path, '+1G'], {env});
      expect(r.code).toBe(IN_USE_EXIT);
      expect(r.stderr).toMatch(/in use/);
    } finally {
      await holder.release();
    }
    expect(inspect(path)).toMatchObject({virtualSize: 2 ** 30});
  });

  it('explains an e2fsck that stops, and detaches', () => {
    const path = makeVolume(dir, 'grow-fsck.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const bin = join(tmp.path, 'bin-e2fsck');
    mkdirSync(bin);
    writeFileSync(join(bin, 'e2fsck'), '#!/bin/sh\necho "grow-fsck: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY." >&2\nexit 4\n', {mode: 0o755});
    const r = runCli(['resize', '--yes', path, '+1G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exit code 4: errors were left uncorrected/);
    expect(sh('cat', ['/proc/self/mountinfo'])).not.toContain(String(env.TDX_WIZARD_STATE_DIR));
    expect(sh('qemu-img', ['check', path])).toMatch(/No errors/);
  });
});
