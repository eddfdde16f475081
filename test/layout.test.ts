// The layout (<root>/clear/<vm>/, <root>/vault/<vm>/, a manifest per folder), one volume for one
// VM, and `volumes adopt` on real volumes in temporary roots: planned and refused before anything
// moves, a rename only on the same filesystem, recorded in place on another, killed at every step
// (SIGKILL, injected by strace at each rename and fsync) without losing a volume or keeping one twice,
// and undone.
import {spawn, spawnSync} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {basename, join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli} from './helpers/cli.js';
import {mountTmpfs, STANDIN_LAUNCHER, TEST_SEED, TEST_SS58, waitFor} from './helpers/reliability.js';
import {requireTools, sh, tempDir, toolPath} from './helpers/tools.js';
import {makeVolume, sha256} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const undo: Array<() => void> = [];

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'strace', 'qemu-nbd', 'mount');
  tmp = tempDir('tdxw-layout-');
});
afterAll(() => {
  for (const fn of undo.reverse()) fn();
  tmp?.remove();
});

/** A host of its own: a layout root, settings and state, and a directory of volumes made earlier. */
function host() {
  const dir = join(tmp.path, `host-${++n}`);
  const env = {TDX_WIZARD_LAYOUT_ROOT: join(dir, 'root'), TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true'};
  mkdirSync(join(dir, 'old'), {recursive: true});
  return {dir, env, root: env.TDX_WIZARD_LAYOUT_ROOT, old: join(dir, 'old')};
}

const manifest = (folder: string) => JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as {vm: string; volumes: Array<Record<string, unknown>>; moving?: unknown[]};
const result = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result')!;

/** The three volumes of an E4 set for `vm`, as upstream names them, made once and copied (sparse) for each case. */
let made: string | undefined;
function oldSet(into: string, vm = 'm1'): Record<string, string> {
  if (!made) {
    made = join(tmp.path, 'made');
    mkdirSync(made);
    makeVolume(made, 'cache.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'});
    makeVolume(made, 'storage.qcow2', {fs: 'ext4', label: 'storage', size: '64M'});
    makeVolume(made, 'config.qcow2', {fs: 'ext4', label: 'tdx-config', size: '10M'});
  }
  const out: Record<string, string> = {};
  for (const role of ['cache', 'storage', 'config']) {
    out[role] = join(into, `${role}-${vm}.qcow2`);
    copyFileSync(join(made, `${role}.qcow2`), out[role]!);
  }
  return out;
}

describe('prepare without --dir: the layout', () => {
  it('puts a debug set in clear/<vm>/ and its config volume in vault/<vm>/ (0700), each folder with its manifest; a second run writes nothing', () => {
    const h = host();
    const seed = join(h.dir, 'seed');
    sh('sh', ['-c', `printf '%s\\n' ${TEST_SEED} > ${seed}; chmod 600 ${seed}`]);
    const args = ['prepare', '--json', '--hostname', 'm1', '--guest', 'debug', '--force-small', '--cache-size', '64M', '--storage-size', '64M', '--miner-ss58', TEST_SS58, '--miner-seed-file', seed];
    const r = runCli(args, {env: h.env});
    expect(r.code, r.stderr).toBe(0);
    const paths = Object.fromEntries((result(r.stdout).volumes as Array<{role: string; path: string}>).map((v) => [v.role, v.path]));
    expect(paths).toEqual({cache: join(h.root, 'clear/m1/cache-m1.qcow2'), storage: join(h.root, 'clear/m1/storage-m1.qcow2'), config: join(h.root, 'vault/m1/config-m1.qcow2')});
    for (const folder of ['clear', 'vault', 'clear/m1', 'vault/m1']) expect(statSync(join(h.root, folder)).mode & 0o777, folder).toBe(0o700);
    const clear = manifest(join(h.root, 'clear/m1'));
    expect(clear.vm).toBe('m1');
    expect(clear.volumes.map((v) => [v.name, v.generation, v.role, v.era])).toEqual([['cache-m1.qcow2', 1, 'cache', 'E4'], ['storage-m1.qcow2', 1, 'storage', 'E4']]);
    expect(clear.volumes[0]!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(manifest(join(h.root, 'vault/m1')).volumes.map((v) => v.name)).toEqual(['config-m1.qcow2']);
    // verify finds the set across both folders
    expect(runCli(['verify', '--dir', join(h.root, 'clear/m1'), '--hostname', 'm1', '--era', 'E4'], {env: h.env}).code).toBe(0);
    const before = readFileSync(join(h.root, 'clear/m1/manifest.json'), 'utf8');
    const again = runCli(args.filter((a, i) => !['--miner-ss58', '--miner-seed-file'].includes(args[i - 1] ?? '') && !['--miner-ss58', '--miner-seed-file'].includes(a)), {env: h.env});
    expect(again.code, again.stderr).toBe(0);
    expect(result(again.stdout).changed).toBe(false);
    expect(readFileSync(join(h.root, 'clear/m1/manifest.json'), 'utf8')).toBe(before);
    // format makes a new generation; the inventory shows it with the UUID
    const cache = paths.cache!;
    const formatted = runCli(['format', '--yes', '--confirm', basename(cache), cache], {env: h.env});
    expect(formatted.code, formatted.stderr).toBe(0);
    const inv = result(runCli(['volumes', '--json'], {env: h.env}).stdout).volumes as Array<{path: string; uuid: string; generation: number; vm: string}>;
    expect(inv.find((v) => v.path === cache)).toMatchObject({vm: 'm1', generation: 2, uuid: clear.volumes[0]!.uuid});
  });
});

describe('one volume, one VM', () => {
  it("prepare refuses a folder whose manifest names another VM, and launch refuses a volume from it; nothing changes", () => {
    const h = host();
    const folder = join(h.root, 'clear', 'm1');
    mkdirSync(folder, {recursive: true});
    const set = oldSet(folder);
    expect(runCli(['volumes', 'adopt', '--yes', ...Object.values(set)], {env: h.env}).code).toBe(0); // records them for m1
    const before = readdirSync(folder).sort();
    const p = runCli(['prepare', '--dir', folder, '--hostname', 'm2', '--force-small', '--cache-size', '64M', '--storage-size', '64M'], {env: h.env});
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(new RegExp(`${folder} belongs to the VM m1 \\(its manifest\\.json\\), and cache-m2\\.qcow2, storage-m2\\.qcow2, config-m2\\.qcow2 would be used from there: a volume serves one VM, and this is m2`));
    expect(p.stderr).toMatch(/fix: give m2 volumes of its own/);
    const image = join(h.dir, 'guest.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);
    const l = runCli(['launch', '--era', 'E1', '--launcher', STANDIN_LAUNCHER, '--cache-volume', join(folder, 'cache-m1.qcow2'), '--image', image, '--hostname', 'm2', '--miner-ss58', TEST_SS58, '--network-type', 'user', '--vm-ip', '10.0.2.15', '--vm-gateway', '10.0.2.2'], {env: {...h.env, TDX_MINER_SEED: TEST_SEED, TDX_WIZARD_PID_FILE: join(h.dir, 'vm.pid'), TDX_WIZARD_SERIAL_LOG: join(h.dir, 'serial.log')}});
    expect(l.code, l.stderr).toBe(2);
    expect(l.stderr).toMatch(/belongs to the VM m1 .*a volume serves one VM, and this is m2/);
    expect(readdirSync(folder).sort()).toEqual(before);
    expect(existsSync(join(h.dir, 'vm.pid'))).toBe(false);
  });
});

describe('volumes adopt', () => {
  it('plans (--dry-run moves nothing), then moves each volume by a rename into its folder, records where it came from, and --undo puts it back', () => {
    const h = host();
    const set = oldSet(h.old);
    const inodes = Object.fromEntries(Object.entries(set).map(([role, path]) => [role, statSync(path).ino]));
    const dry = runCli(['volumes', 'adopt', '--dry-run', ...Object.values(set)], {env: h.env});
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(new RegExp(`move +${set.config} -> ${h.root}/vault/m1/config-m1\\.qcow2 \\(the config volume holds the seed\\)`));
    expect(dry.stderr).toMatch(new RegExp(`move +${set.cache} -> ${h.root}/clear/m1/cache-m1\\.qcow2 \\(read in clear by a debug guest\\)`));
    expect(dry.stdout).toMatch(/mv -n -- /);
    expect(existsSync(h.root)).toBe(false);
    const r = runCli(['volumes', 'adopt', '--yes', ...Object.values(set)], {env: h.env});
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(h.old)).toEqual([]);
    for (const [role, path] of Object.entries(set)) {
      const to = join(h.root, role === 'config' ? 'vault' : 'clear', 'm1', basename(path));
      expect(statSync(to).ino, role).toBe(inodes[role]); // the same file: renamed, not copied
    }
    expect(manifest(join(h.root, 'clear/m1')).volumes.map((v) => [v.name, v.adoptedFrom])).toEqual([['cache-m1.qcow2', set.cache], ['storage-m1.qcow2', set.storage]]);
    const back = runCli(['volumes', 'adopt', '--undo', '--yes', join(h.root, 'clear/m1/cache-m1.qcow2')], {env: h.env});
    expect(back.code, back.stderr).toBe(0);
    expect(statSync(set.cache!).ino).toBe(inodes.cache);
    expect(manifest(join(h.root, 'clear/m1')).volumes.map((v) => v.name)).toEqual(['storage-m1.qcow2']);
  });

  it('the remembered paths follow the volumes (the launch form offers where they are now), and --undo takes them back', () => {
    const h = host();
    const set = oldSet(h.old, 'm2');
    mkdirSync(h.env.TDX_WIZARD_CONFIG_DIR, {recursive: true});
    const settingsFile = join(h.env.TDX_WIZARD_CONFIG_DIR, 'config.json');
    writeFileSync(settingsFile, JSON.stringify({volumeSize: '5000G', networkType: 'tap', volumePath: set.cache, volumes: set, volumeDir: h.old, hostname: 'm2'}));
    const r = runCli(['volumes', 'adopt', '--yes', ...Object.values(set)], {env: h.env});
    expect(r.code, r.stderr).toBe(0);
    const now = (role: string) => join(h.root, role === 'config' ? 'vault' : 'clear', 'm2', `${role}-m2.qcow2`);
    const after = JSON.parse(readFileSync(settingsFile, 'utf8'));
    expect(after).toMatchObject({volumePath: now('cache'), volumes: {cache: now('cache'), storage: now('storage'), config: now('config')}, hostname: 'm2'});
    expect(after.volumeDir).toBeUndefined(); // nothing of the set is left there: the next set starts from the layout
    expect(r.stderr).toMatch(/the remembered volume paths now name the new places/);
    const back = runCli(['volumes', 'adopt', '--undo', '--yes', now('cache')], {env: h.env});
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toMatchObject({volumePath: set.cache, volumes: {cache: set.cache, storage: now('storage')}});
  });

  it('refuses a volume in use and one whose VM it cannot tell, before anything moves (exit 2)', async () => {
    const h = host();
    const set = oldSet(h.old);
    const stray = join(h.old, 'models.qcow2');
    copyFileSync(set.storage!, stray);
    // qemu-nbd serving the cache volume on a unix socket holds it as a VM would.
    const sock = join(h.dir, 'qsd.sock');
    const qsd = spawn(toolPath('qemu-nbd'), ['--format=qcow2', '-k', sock, '--persistent', set.cache!], {stdio: 'ignore'});
    try {
      await waitFor('the daemon to hold the image', () => existsSync(sock), 10_000);
      const r = runCli(['volumes', 'adopt', '--yes', set.cache!, stray], {env: h.env});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${set.cache} is in use \\(.*qemu-nbd.*\\): a volume is never moved under a running VM`));
      expect(r.stderr).toMatch(/models\.qcow2: which VM it belongs to is not in its name .*say it with --vm NAME/);
      expect(r.stderr).toMatch(/fix: nothing was moved/);
      expect(readdirSync(h.old).sort()).toEqual(['cache-m1.qcow2', 'config-m1.qcow2', 'models.qcow2', 'storage-m1.qcow2']);
      expect(existsSync(h.root)).toBe(false);
    } finally {
      qsd.kill('SIGTERM');
    }
  });

  it('records a volume on another filesystem where it is (a move would copy it)', () => {
    const h = host();
    const elsewhere = join(h.dir, 'tmpfs');
    undo.push(mountTmpfs(elsewhere, '64M'));
    const set = oldSet(elsewhere);
    const r = runCli(['volumes', 'adopt', '--yes', set.cache!], {env: h.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/record +\S+cache-m1\.qcow2 in \S+clear\/m1\/manifest\.json, where it is \(read in clear by a debug guest; on another filesystem/);
    expect(existsSync(set.cache!)).toBe(true);
    expect(manifest(join(h.root, 'clear/m1')).volumes.map((v) => v.name)).toEqual([set.cache]);
    const inv = result(runCli(['volumes', '--json'], {env: h.env}).stdout).volumes as Array<{path: string; vm: string; generation: number}>;
    expect(inv.find((v) => v.path === set.cache)).toMatchObject({vm: 'm1', generation: 1});
  });

  it('killed (SIGKILL) at every rename and fsync: each volume is where it was or where it was going, once, intact; the next run finishes', () => {
    const h = host();
    let step = 0;
    for (;;) {
      step++;
      const old = join(h.dir, `old-${step}`);
      mkdirSync(old);
      const set = oldSet(old, `k${step}`);
      const sums = Object.fromEntries(Object.values(set).map((p) => [basename(p), sha256(readFileSync(p))]));
      const traced = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2,fsync,fdatasync', '-e', `inject=rename,renameat,renameat2,fsync,fdatasync:signal=KILL:when=${step}`, process.execPath, CLI, 'volumes', 'adopt', '--yes', ...Object.values(set)], {env: {...process.env, ...h.env}, encoding: 'utf8'});
      const finished = traced.status === 0;
      const where = (name: string) => [join(old, name), ...['clear', 'vault'].map((k) => join(h.root, k, `k${step}`, name))].filter((p) => existsSync(p));
      for (const name of Object.keys(sums)) {
        const found = where(name);
        expect(found, `step ${step}: ${name}`).toHaveLength(1);
        expect(sha256(readFileSync(found[0]!)), `step ${step}: ${name}`).toBe(sums[name]);
      }
      const again = runCli(['volumes', 'adopt', '--yes', ...Object.keys(sums).map((name) => where(name)[0]!)], {env: h.env});
      expect(again.code, `step ${step}: ${again.stderr}`).toBe(0);
      expect(readdirSync(old), `step ${step}`).toEqual([]);
      const clear = manifest(join(h.root, 'clear', `k${step}`));
      expect(clear.moving ?? [], `step ${step}`).toEqual([]);
      expect(clear.volumes.map((v) => [v.name, v.adoptedFrom]).sort(), `step ${step}`).toEqual([['cache-k' + step + '.qcow2', set.cache], ['storage-k' + step + '.qcow2', set.storage]]);
      expect(manifest(join(h.root, 'vault', `k${step}`)).volumes.map((v) => v.adoptedFrom), `step ${step}`).toEqual([set.config]);
      if (finished) break;
      expect(step).toBeLessThan(60);
    }
    expect(step).toBeGreaterThan(6); // it was killed at every step of the three moves before one run finished
  });
});

describe("the wizard's set screen in a layout folder", () => {
  it('writes the folder manifest as prepare does, and refuses a folder of another VM', async () => {
    const h = host();
    const seed = join(h.dir, 'seed');
    sh('sh', ['-c', `printf '%s\\n' ${TEST_SEED} > ${seed}; chmod 600 ${seed}`]);
    const saved = {...process.env};
    Object.assign(process.env, h.env, {TDX_WIZARD_FORCE_SMALL: '1'});
    try {
      const {WizardController} = await import('../src/wizard/controller.js');
      const controller = new WizardController({transcript: false});
      await controller.loadSettings();
      const folder = join(h.root, 'vault', 'w1');
      const input = {era: 'E4' as const, dir: folder, hostname: 'w1', sizes: {cache: '64M', storage: '64M'}, config: {minerSs58: TEST_SS58, seedFile: seed, vmIp: '192.168.100.2', vmGateway: '192.168.100.1', vmDns: '8.8.8.8'}};
      const made = await controller.prepareSet(input);
      expect(made, JSON.stringify(made)).toMatchObject({ok: true});
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(manifest(folder)).toMatchObject({vm: 'w1'});
      expect(manifest(folder).volumes.map((v) => v.name).sort()).toEqual(['cache-w1.qcow2', 'config-w1.qcow2', 'storage-w1.qcow2']);
      const other = await controller.prepareSet({...input, hostname: 'w2'});
      expect(other).toMatchObject({ok: false, message: expect.stringMatching(/belongs to the VM w1 .*a volume serves one VM, and this is w2/)});
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});

describe('create --vm: one volume in the layout', () => {
  it('puts the volume in vault/<vm>/ (clear/ with --guest debug) as upstream names it, 0700, in the manifest; a second create of it is refused', () => {
    const h = host();
    const r = runCli(['create', '--json', '--vm', 'm1', '--role', 'storage', '--era', 'E4', '--force-small', '64M'], {env: h.env});
    expect(r.code, r.stderr).toBe(0);
    const path = join(h.root, 'vault/m1/storage-m1.qcow2');
    expect(result(r.stdout)).toMatchObject({ok: true, path, role: 'storage', label: 'storage', virtualSize: 64 * 2 ** 20});
    for (const folder of ['vault', 'vault/m1']) expect(statSync(join(h.root, folder)).mode & 0o777, folder).toBe(0o700);
    expect(manifest(join(h.root, 'vault/m1')).volumes.map((v) => [v.name, v.generation, v.role, v.era])).toEqual([['storage-m1.qcow2', 1, 'storage', 'E4']]);

    const debug = runCli(['create', '--json', '--vm', 'm1', '--guest', 'debug', '--era', 'E5', '--force-small', '64M'], {env: h.env});
    expect(debug.code, debug.stderr).toBe(0);
    expect(result(debug.stdout)).toMatchObject({path: join(h.root, 'clear/m1/cache-m1.raw'), role: 'cache', format: 'raw'});
    expect(manifest(join(h.root, 'clear/m1')).volumes.map((v) => [v.name, v.role, v.era])).toEqual([['cache-m1.raw', 'cache', 'E5']]);
    // the inventory finds both, with their VM
    const inv = result(runCli(['volumes', '--json'], {env: h.env}).stdout).volumes as Array<{path: string; vm: string}>;
    expect(inv.filter((v) => v.vm === 'm1').map((v) => v.path).sort()).toEqual([join(h.root, 'clear/m1/cache-m1.raw'), path]);

    const before = readFileSync(join(h.root, 'vault/m1/manifest.json'), 'utf8');
    const again = runCli(['create', '--vm', 'm1', '--role', 'storage', '--era', 'E4', '--force-small', '64M'], {env: h.env});
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/storage-m1\.qcow2 already exists/);
    expect(readFileSync(join(h.root, 'vault/m1/manifest.json'), 'utf8')).toBe(before);
  });

  it.each([
    [['create'], /create needs the new volume's path, or --vm HOSTNAME/, /tdx-wizard create cache-volume\.qcow2, or tdx-wizard create --vm miner-01/],
    [['create', '--vm', 'Miner_1'], /"Miner_1" is not a hostname the guest accepts/, /choose a hostname such as miner-01/],
    [['create', '--vm', 'm1', 'mine.qcow2'], /--vm places the volume itself, in .*vault\/m1\/: it takes no path/, /leave out mine\.qcow2, or leave out --vm/],
    [['create', '--vm', 'm1', '64M', '128M'], /--vm places the volume itself/, /leave out/],
    [['create', '--guest', 'debug', 'cache.qcow2'], /--guest chooses the layout's folder, so it needs --vm/, /add --vm HOSTNAME, or leave out --guest/],
  ])('bad input %j: exit 2, what was wrong and how to fix it, nothing made', (args, error, fix) => {
    const h = host();
    const r = runCli([...args, '--force-small'], {env: h.env, cwd: h.old});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(error);
    expect(r.stderr).toMatch(fix);
    expect(existsSync(h.root)).toBe(false);
    expect(readdirSync(h.old)).toEqual([]);
  });
});
