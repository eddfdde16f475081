// create for every kind of data volume an era needs: role (cache, storage, containerd), container
// (qcow2, raw) and filesystem (ext4, xfs), checked afterwards with the real tools; the refusals of
// kinds no era accepts; and the same guarantees as the cache volume (nothing left on failure).
import {mkdirSync, readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot, startCli} from './helpers/cli.js';
import {blockingTool, failingTool, readyPid, waitFor} from './helpers/reliability.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const GiB = 2 ** 30;
let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let n = 0;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'mkfs.xfs', 'xfs_db', 'dumpe2fs', 'blkid', 'bash');
  tmp = tempDir('tdxw-kinds-');
  mkdirSync(join(tmp.path, 'config'), {mode: 0o700});
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});
afterAll(() => tmp.remove());

/** A fresh empty directory for one case. */
function freshDir(): string {
  const dir = join(tmp.path, `d${++n}`);
  mkdirSync(dir);
  return dir;
}

/** The volume's guest view as a raw file (itself when it is raw). */
function guestView(path: string, format: string): string {
  if (format === 'raw') return path;
  const raw = `${path}.view`;
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
  return raw;
}

/** What the real tools say of the filesystem: blkid's type and label, and its size from xfs_db or dumpe2fs. */
function filesystemOf(raw: string): {type: string; label: string; bytes: number} {
  const blkid = Object.fromEntries(sh('blkid', ['-p', '-o', 'export', raw]).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  if (blkid.TYPE === 'xfs') {
    const sb = sh('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p dblocks blocksize', raw]);
    const field = (name: string) => Number(new RegExp(`^${name} = (\\d+)`, 'm').exec(sb)![1]);
    return {type: 'xfs', label: blkid.LABEL!, bytes: field('dblocks') * field('blocksize')};
  }
  const dump = sh('dumpe2fs', ['-h', raw]);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(dump)![1]);
  return {type: blkid.TYPE!, label: blkid.LABEL!, bytes: field('Block count') * field('Block size')};
}

describe('create makes every kind of data volume some era accepts (real tools)', () => {
  const kinds: Array<{era: string; role: string; format: 'qcow2' | 'raw'; fs: 'ext4' | 'xfs'; label: string}> = [
    {era: 'E4', role: 'cache', format: 'qcow2', fs: 'ext4', label: 'tdx-cache'},
    {era: 'E4', role: 'storage', format: 'qcow2', fs: 'ext4', label: 'storage'},
    {era: 'E3b', role: 'containerd', format: 'qcow2', fs: 'ext4', label: 'containerd-cache'},
    {era: 'E5', role: 'cache', format: 'raw', fs: 'ext4', label: 'tdx-cache'},
    {era: 'E5', role: 'storage', format: 'raw', fs: 'ext4', label: 'storage'},
    {era: 'E6', role: 'cache', format: 'qcow2', fs: 'xfs', label: 'tdx-cache'},
    {era: 'E6', role: 'storage', format: 'qcow2', fs: 'xfs', label: 'storage'},
    {era: 'E6', role: 'cache', format: 'raw', fs: 'xfs', label: 'tdx-cache'},
    {era: 'E5x', role: 'storage', format: 'raw', fs: 'xfs', label: 'storage'},
  ];
  for (const k of kinds) {
    it(`${k.era} ${k.role}: ${k.format}, ${k.fs} labelled ${k.label}`, () => {
      const dir = freshDir();
      const name = `${k.role}.${k.format}`;
      const path = join(dir, name);
      const r = runCli(['create', '--json', '--era', k.era, '--role', k.role, '--format', k.format, '--fs', k.fs, '--force-small', path, '1G'], {env});
      expect(r.code, r.stderr).toBe(0);
      const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
      expect(result).toMatchObject({ok: true, path, virtualSize: GiB, role: k.role, era: k.era, format: k.format, fs: k.fs, label: k.label});

      const info = JSON.parse(sh('qemu-img', ['info', '-f', k.format, '--output=json', path]));
      expect(info.format).toBe(k.format);
      expect(info['virtual-size']).toBe(GiB);
      const view = guestView(path, k.format);
      expect(filesystemOf(view)).toEqual({type: k.fs, label: k.label, bytes: GiB});
      if (view !== path) sh('rm', ['-f', view]);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual([name]); // no work directory left
    });
  }

  it('without a size, the role gets its era default (storage: 500G), and the next command names the role', () => {
    const path = join(freshDir(), 'storage.qcow2');
    const r = runCli(['create', '--role', 'storage', path], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(sh('qemu-img', ['info', '-f', 'qcow2', '--output=json', path]))['virtual-size']).toBe(500 * GiB);
    expect(r.stdout).toContain(`next: tdx-wizard verify ${path} --role storage`);
    expect(r.stdout).toContain(`--storage-volume ${path}`);
    expect(r.stderr).not.toMatch(/only accepts a cache volume/);
  });

  it('takes the remembered era when --era is not given', () => {
    const config = join(tmp.path, 'config-e6');
    mkdirSync(config, {mode: 0o700});
    sh('sh', ['-c', `printf '{"era":"E6","volumeSize":"5000G","networkType":"tap"}' > ${config}/config.json`]);
    const path = join(freshDir(), 'cache.raw');
    const r = runCli(['create', '--json', '--fs', 'xfs', '--force-small', path, '1G'], {env: {...env, TDX_WIZARD_CONFIG_DIR: config}});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/"era":"E6"/);
  });
});

// How fast is measured in npm run bench (against truncate + mkfs by hand), not here.
describe('a raw volume is sparse, whatever its size', () => {
  for (const fs of ['ext4', 'xfs'] as const) {
    it(`5000G raw ${fs}: a few MiB on disk`, () => {
      const dir = freshDir();
      const path = join(dir, 'cache.raw');
      const r = runCli(['create', '--era', 'E6', '--fs', fs, path, '5000G'], {env});
      expect(r.code, r.stderr).toBe(0);
      const st = statSync(path);
      expect(st.size).toBe(5000 * GiB);
      expect(st.blocks * 512).toBeLessThan(128 * 2 ** 20); // upstream's falloc would take all 5000G now
      expect(filesystemOf(path)).toEqual({type: fs, label: 'tdx-cache', bytes: 5000 * GiB});
      expect(readdirSync(dir)).toEqual(['cache.raw']);
    });
  }

  it('the XFS log stays clean after the wizard made it sparse (xfs_repair -n)', () => {
    requireTools('xfs_repair');
    const path = join(freshDir(), 'storage.raw');
    expect(runCli(['create', '--era', 'E6', '--role', 'storage', '--fs', 'xfs', path], {env}).code).toBe(0);
    sh('xfs_repair', ['-n', path]); // throws on any finding
  });
});

describe('create refuses kinds no era accepts: exit 2, a message with a fix, nothing changed', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a qcow2 named .raw', ['--era', 'E6', '--format', 'qcow2', 'v.raw'], /named as a raw file but would be qcow2/],
    ['a raw file named .qcow2', ['--era', 'E6', '--format', 'raw', 'v.qcow2'], /named as a qcow2 file but would be raw/],
    ['an XFS label over 12 bytes', ['--era', 'E6', '--fs', 'xfs', '--label', 'tdx-cache-xfs', 'v.raw'], /13 bytes; XFS keeps at most 12/],
    ['a containerd volume as XFS', ['--era', 'E3b', '--role', 'containerd', '--fs', 'xfs', 'v.qcow2'], /containerd volume cannot be XFS/],
    ['a storage volume for E1', ['--role', 'storage', '--era', 'E1', 'v.qcow2'], /has no storage volume/],
    ['XFS for E4', ['--fs', 'xfs', '--era', 'E4', 'v.qcow2'], /mounts its cache volume as ext4/],
    ['the config volume', ['--role', 'config', 'v.qcow2'], /config volume is not made by create/],
    ['an unknown era', ['--era', 'E9', 'v.qcow2'], /unknown era "E9"/],
    ['--method nbd for a raw file', ['--era', 'E6', '--method', 'nbd', 'v.raw', '100G'], /--method nbd makes qcow2 volumes with ext4 only/],
    ['an XFS volume under 300 MiB', ['--era', 'E6', '--fs', 'xfs', '--force-small', 'v.raw', '200M'], /XFS needs at least 300M/],
  ];
  for (const [name, args, message] of cases) {
    it(name, () => {
      const dir = freshDir();
      const before = snapshot(tmp.path);
      const r = runCli(['create', ...args.map((a) => (/^v\./.test(a) ? join(dir, a) : a))], {env});
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/^ {2}fix: \S/m);
      expect(r.code).toBe(2);
      expect(snapshot(tmp.path)).toEqual(before);
    });
  }

  it('--role config points at config-volume', () => {
    const r = runCli(['create', '--role', 'config', join(freshDir(), 'config.qcow2')], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/fix: .*tdx-wizard config-volume/);
  });
});

describe('a raw or XFS create that fails leaves nothing behind', () => {
  const cases: Array<[string, string, string[]]> = [
    ['raw xfs, mkfs.xfs fails', 'mkfs.xfs', ['--era', 'E6', '--fs', 'xfs', 'cache.raw']],
    ['qcow2 xfs, mkfs.xfs fails', 'mkfs.xfs', ['--era', 'E6', '--fs', 'xfs', 'cache.qcow2']],
    ['raw ext4, mkfs.ext4 fails', 'mkfs.ext4', ['--era', 'E5', '--fs', 'ext4', 'cache.raw']],
    ['raw xfs, the size check fails', 'qemu-img', ['--era', 'E6', '--fs', 'xfs', 'cache.raw']],
  ];
  for (const [name, tool, args] of cases) {
    it(name, () => {
      const dir = freshDir();
      const bin = join(tmp.path, `bin${++n}`);
      failingTool(bin, tool, `${tool}: broken on purpose`, tool === 'qemu-img' ? {when: '[ "$1" = info ]'} : {});
      const r = runCli(['create', '--force-small', ...args.map((a) => (a.includes('.') ? join(dir, a) : a)), '1G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: '', PATH: `${bin}:${process.env.PATH}`}});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('broken on purpose');
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('SIGTERM while mkfs.xfs runs on a raw file: exit 143, nothing left', async () => {
    const dir = freshDir();
    const bin = join(tmp.path, `bin${++n}`);
    const ready = join(tmp.path, `ready${n}`);
    blockingTool(bin, 'mkfs.xfs', ready);
    const run = startCli(['create', '--era', 'E6', '--fs', 'xfs', '--force-small', join(dir, 'cache.raw'), '1G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    await waitFor('mkfs.xfs to start', () => {
      try {
        return readyPid(ready) > 0;
      } catch {
        return false;
      }
    });
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, run.output()).toBe(143);
    expect(readdirSync(dir)).toEqual([]);
  });
});
