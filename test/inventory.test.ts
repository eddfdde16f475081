// tdx-wizard volumes: the inventory of a mixed host, checked against what `inspect` says of each
// volume, the capacity warning on a small real filesystem, and bad input.
import {copyFileSync, mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli} from './helpers/cli.js';
import {startPty} from './helpers/pty.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {holdImage, makeVolume} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-nbd', 'mkfs.ext4', 'mkfs.xfs', 'cryptsetup', 'mount', 'umount');
  tmp = tempDir('tdxw-inventory-');
  // Nothing remembered and an empty layout: only what the tests put down is found (and what QEMU has open).
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), TDX_WIZARD_LAYOUT_ROOT: join(tmp.path, 'layout'), CI: 'true'};
});
afterAll(() => tmp.remove());

type Row = {path: string; role: string | null; judgedFor: string; vm: string | null; fits: string[]; verdict: string; encrypted: boolean; heldBy: string | null};

function inventory(args: string[]): {rows: Row[]; capacity: Array<{dir: string; warning?: string}>} {
  const r = runCli(['volumes', '--json', ...args], {env});
  expect(r.code, r.stderr).toBe(0);
  const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
  return {rows: result.volumes, capacity: result.capacity};
}

describe('volumes: every volume found, judged as inspect judges it', () => {
  it('a mixed host: an E4 set, an E5 raw volume, a provisioned LUKS2 one, an orphan, one held open; and the layout', async () => {
    const dir = join(tmp.path, 'host');
    mkdirSync(dir);
    const prepared = runCli(['prepare', '--era', 'E4', '--dir', dir, '--hostname', 'm1', '--force-small', '--cache-size', '1G', '--storage-size', '1G', '--miner-ss58', '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', '--miner-seed-file', '-', '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1'], {env, input: `${'ab'.repeat(32)}\n`});
    expect(prepared.code, prepared.stderr).toBe(0);
    makeVolume(dir, 'storage-m2.raw', {fs: 'ext4', label: 'storage', format: 'raw'});
    makeVolume(dir, 'cache-m3.qcow2', {fs: 'luks2', label: 'tdx-cache'});
    makeVolume(dir, 'orphan.qcow2', {fs: 'empty'});
    const held = makeVolume(dir, 'cache-m4.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const layoutVm = join(tmp.path, 'layout', 'clear', 'gpu-7');
    mkdirSync(layoutVm, {recursive: true});
    copyFileSync(join(dir, 'cache-m1.qcow2'), join(layoutVm, 'cache.qcow2'));
    const holder = await holdImage(held);
    try {
      const {rows} = inventory(['--dir', dir]);
      const mine = rows.filter((r) => r.path.startsWith(tmp.path));
      const by = (name: string) => mine.find((r) => r.path.endsWith(`/${name}`))!;
      expect(mine.map((r) => r.path.split('/').pop()).sort()).toEqual(['cache-m1.qcow2', 'cache-m3.qcow2', 'cache-m4.qcow2', 'cache.qcow2', 'config-m1.qcow2', 'orphan.qcow2', 'storage-m1.qcow2', 'storage-m2.raw']);
      expect(by('cache-m1.qcow2')).toMatchObject({role: 'cache', vm: 'm1', verdict: 'ready', encrypted: false});
      expect(by('config-m1.qcow2')).toMatchObject({role: 'config', vm: 'm1', verdict: 'ready'});
      expect(by('storage-m2.raw')).toMatchObject({role: 'storage', vm: 'm2', verdict: 'ready', judgedFor: 'E6', fits: ['E5', 'E6']});
      expect(by('cache-m3.qcow2')).toMatchObject({verdict: 'provisioned', encrypted: true});
      expect(by('orphan.qcow2')).toMatchObject({role: null, vm: null, verdict: 'empty', fits: []});
      expect(by('cache-m4.qcow2').heldBy).toMatch(/qemu-nbd \(pid \d+\)/);
      expect(by('cache.qcow2')).toMatchObject({vm: 'gpu-7', verdict: 'ready'}); // found through the layout
      // Each as `inspect` says of it, for the era and role the inventory judged it as.
      for (const row of mine) {
        const r = runCli(['inspect', '--json', row.path, '--era', row.judgedFor, ...(row.role ? ['--role', row.role] : [])], {env});
        const inspected = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
        expect(inspected?.verdict, `${row.path}: ${r.stderr}`).toBe(row.verdict);
      }
    } finally {
      await holder.release();
    }
  });

  it('warns when the thin volumes on a host filesystem can grow past its free space, naming them', () => {
    const image = join(tmp.path, 'small-fs.img');
    const mnt = join(tmp.path, 'small-fs');
    mkdirSync(mnt);
    sh('truncate', ['-s', '64M', image]);
    sh('mkfs.ext4', ['-q', image]);
    sh('mount', ['-o', 'loop', image, mnt]); // root and a loop device (util-linux, mount)
    try {
      sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(mnt, 'cache-big.qcow2'), '5G']);
      const {capacity} = inventory(['--dir', mnt]);
      const here = capacity.find((c) => c.dir === mnt)!;
      expect(here.warning).toMatch(/can still grow by 5\.00 GiB, but it has .* free: when it fills up, their guests get I\/O errors \(cache-big\.qcow2\)/);
      // Many volumes: the five with the most room are named, the rest counted.
      for (let i = 1; i <= 7; i++) sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(mnt, `v${i}.qcow2`), `${i + 5}G`]);
      const many = inventory(['--dir', mnt]).capacity.find((c) => c.dir === mnt)!;
      expect(many.warning).toMatch(/I\/O errors \(v7\.qcow2, v6\.qcow2, v5\.qcow2, v4\.qcow2, v3\.qcow2, and 3 more: tdx-wizard volumes lists them\)/);
      for (let i = 1; i <= 7; i++) rmSync(join(mnt, `v${i}.qcow2`));
      const plain = runCli(['volumes', '--dir', mnt], {env});
      expect(plain.stderr).toContain(`warning: the thin volumes on the filesystem of ${mnt}`);
      // check says the same, as one of its rows.
      const checked = runCli(['check', '--json', '--dir', mnt], {env});
      const capacityRow = checked.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result')?.checks?.find((c: {id: string}) => c.id === 'capacity');
      expect(capacityRow, checked.stdout.slice(-2000)).toMatchObject({status: 'warn', summary: expect.stringContaining('cache-big.qcow2')});
    } finally {
      sh('umount', [mnt]);
    }
  });

  it('bad input: a --dir that is missing or a file: exit 2 with a fix', () => {
    const file = join(tmp.path, 'a-file');
    writeFileSync(file, '');
    for (const [dir, message] of [[join(tmp.path, 'nowhere'), /does not exist/], [file, /is not a directory/]] as const) {
      const r = runCli(['volumes', '--dir', dir], {env});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/fix: /);
    }
  });
});

describe('the wizard\'s volumes screen', () => {
  it('lists what the inventory finds, refused volumes first with their reason in full; Enter on a wrong label opens the relabel screen with it', async () => {
    const dir = join(tmp.path, 'screen');
    mkdirSync(dir);
    makeVolume(dir, 'cache-s1.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const wrong = makeVolume(dir, 'cache-s2.qcow2', {fs: 'ext4', label: 'models'});
    const config = join(tmp.path, 'screen-config');
    mkdirSync(config);
    writeFileSync(join(config, 'config.json'), JSON.stringify({volumeDir: dir}), {mode: 0o600});
    // A layout of its own: the first test left a volume in the shared one. And a /proc of its own,
    // empty: the inventory also lists every image a QEMU process has open, and other test files
    // running beside this one hold theirs (a qemu-storage-daemon's volume made a third row).
    const proc = join(tmp.path, 'screen-proc');
    mkdirSync(proc);
    const run = startPty([CLI], {cwd: dir, env: {...env, TDX_WIZARD_CONFIG_DIR: config, TDX_WIZARD_LAYOUT_ROOT: join(tmp.path, 'screen-layout'), TDX_WIZARD_PROC_ROOT: proc}, cols: 100, rows: 30});
    try {
      await run.waitFor('First-time setup');
      for (let i = 0; i < 7; i++) await run.press('Down');
      await run.waitFor(/❯ Volumes on this host/);
      await run.press('Enter');
      await run.waitFor(/2 volumes, 1 a guest would refuse/);
      const screen = run.screen();
      expect(screen.indexOf('cache-s2.qcow2')).toBeLessThan(screen.indexOf('cache-s1.qcow2')); // refused first
      expect(screen).toMatch(/wrong-label for E4: .*"models"/); // the first refused one, in full below
      await run.press('Down');
      await run.waitFor(/❯ ✖ .*cache-s2\.qcow2/);
      await run.press('Enter');
      await run.waitFor(`❯ Volume file ${wrong}`);
      await run.press('C-c');
      expect(await run.exited()).toBe(130);
    } finally {
      run.kill();
    }
  }, 60_000);
});
