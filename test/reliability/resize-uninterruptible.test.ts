// A grow is never interrupted inside resize2fs or e2fsck: a stop (SIGINT, SIGTERM, SIGHUP to the CLI,
// or to its whole process group as a terminal's Ctrl+C sends it) while they run does not reach them.
// The CLI says what runs and that it stops right after, waits for it, then stops with the signal's
// code. The filesystem is clean afterwards (e2fsck -fn) and verify agrees. Real tools throughout;
// the stand-ins only hold the real tool back until released, then exec it.
import {spawnSync} from 'node:child_process';
import {mkdirSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from '../helpers/cli.js';
import {requireTools, sh, tempDir, toolPath} from '../helpers/tools.js';
import {makeVolume, randomData, readData, sha256} from '../helpers/volumes.js';
import {alive, blockingTool, failingTool, mountTmpfs, mountsUnder, processesUsing, readyPid, release, SIGNAL_EXIT, sleep, startGroup, waitFor} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
const MiB = 2 ** 20;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'fusermount3', 'mkfs.ext4', 'e2fsck', 'resize2fs', 'dumpe2fs', 'debugfs', 'bash');
  tmp = tempDir('tdxw-rel-grow-');
});
afterAll(() => tmp?.remove());

interface Case {
  dir: string;
  path: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  sum: string;
}

let n = 0;
function setup(onFinished: (fn: () => Promise<void>) => void): Case {
  const dir = join(tmp.path, `case-${++n}`);
  mkdirSync(dir);
  const data = randomData();
  const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '256M', data});
  const bin = join(dir, 'bin');
  const c = {dir, path, bin, env: {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true', PATH: `${bin}:${process.env.PATH}`}, sum: sha256(data)};
  onFinished(async () => {
    for (const p of processesUsing(dir)) process.kill(p.pid, 'SIGTERM');
    await waitFor('leftover daemons to exit', () => processesUsing(dir).length === 0, 30_000);
    for (const line of mountsUnder(dir)) spawnSync('fusermount3', ['-u', '-z', line.split(' ')[4]!]);
  });
  return c;
}

/** e2fsck -fn on a raw copy: 0 when the filesystem is clean. */
function fsckClean(path: string): {status: number | null; output: string} {
  const raw = `${path}.fsck.raw`;
  spawnSync(toolPath('qemu-img'), ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
  const r = spawnSync(toolPath('e2fsck'), ['-fn', raw], {encoding: 'utf8'});
  const blocks = spawnSync(toolPath('dumpe2fs'), ['-h', raw], {encoding: 'utf8'}).stdout;
  rmSync(raw, {force: true});
  return {status: r.status, output: r.stdout + r.stderr + blocks};
}

function resultOf(args: string[], c: Case): {code: number | null; result: Record<string, unknown>} {
  const r = runCli(args, {env: c.env});
  const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result')!;
  return {code: r.code, result};
}

/** verify says ready (exit 0), and inspect gives the image and filesystem sizes. */
function verifyJson(c: Case): {code: number | null; result: Record<string, unknown>} {
  const v = resultOf(['verify', '--json', c.path], c);
  const i = resultOf(['inspect', '--json', c.path], c);
  return {code: v.code, result: {verdict: v.result.verdict, virtualSize: i.result.virtualSize, filesystemSize: i.result.filesystemSize}};
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

describe('resize2fs is never signalled', () => {
  for (const signal of SIGNALS) {
    for (const target of ['cli', 'group'] as const) {
      it(`${signal} to the ${target === 'cli' ? 'CLI' : "CLI's process group"} while resize2fs runs: it finishes, then the CLI stops with ${SIGNAL_EXIT[signal]}; clean, verify agrees`, async ({onTestFinished}) => {
        const c = setup(onTestFinished);
        const ready = join(c.bin, 'ready');
        blockingTool(c.bin, 'resize2fs', ready, {maxWaitMs: 30_000});
        const run = startGroup(['resize', '--yes', c.path, '+64M'], c.env);
        await waitFor('resize2fs to start', () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
        expect(run.child.exitCode, run.output()).toBeNull();
        const toolPid = readyPid(ready);
        process.kill(target === 'cli' ? run.child.pid! : -run.child.pid!, signal);
        await sleep(800);
        // Not signalled (the stand-in ends with 143 on any stop signal), and the CLI waits for it.
        expect(alive(toolPid), run.output()).toBe(true);
        expect(run.child.exitCode, run.output()).toBeNull();
        expect(run.output()).toMatch(/resize2fs .*must not be interrupted.*stops right after it/s);
        // A second stop changes nothing.
        process.kill(target === 'cli' ? run.child.pid! : -run.child.pid!, signal);
        await sleep(300);
        expect(alive(toolPid), run.output()).toBe(true);
        let toolAliveAtExit = true;
        run.child.once('exit', () => (toolAliveAtExit = alive(toolPid)));
        release(ready);
        const result = await run.done;
        expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
        expect(toolAliveAtExit, 'the CLI exited before resize2fs finished').toBe(false);
        expect(run.output()).not.toMatch(/ended by SIG|resize2fs.*cancelled/);
        expect(mountsUnder(c.dir)).toEqual([]);
        expect(processesUsing(c.dir)).toEqual([]);
        const fsck = fsckClean(c.path);
        expect(fsck.status, fsck.output).toBe(0);
        expect(fsck.output).toMatch(/^Block count:\s+327680$/m); // 320 MiB of 1 KiB blocks: the grow happened
        const v = verifyJson(c);
        expect(v.code, JSON.stringify(v.result)).toBe(0);
        expect(v.result).toMatchObject({verdict: 'ready', virtualSize: 320 * MiB, filesystemSize: 320 * MiB});
        expect(sha256(readData(c.path))).toBe(c.sum);
      });
    }
  }
});

describe('e2fsck is never signalled', () => {
  for (const signal of SIGNALS) {
    it(`${signal} to the CLI's process group while e2fsck runs: it finishes, resize2fs never starts, the image is shrunk back`, async ({onTestFinished}) => {
      const c = setup(onTestFinished);
      const ready = join(c.bin, 'ready');
      blockingTool(c.bin, 'e2fsck', ready, {maxWaitMs: 30_000});
      const run = startGroup(['resize', '--yes', c.path, '+64M'], c.env);
      await waitFor('e2fsck to start', () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
      expect(run.child.exitCode, run.output()).toBeNull();
      const toolPid = readyPid(ready);
      process.kill(-run.child.pid!, signal);
      await sleep(800);
      expect(alive(toolPid), run.output()).toBe(true);
      expect(run.child.exitCode, run.output()).toBeNull();
      expect(run.output()).toMatch(/e2fsck .*must not be interrupted.*stops right after it/s);
      release(ready);
      const result = await run.done;
      expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
      expect(run.output()).not.toMatch(/^\$ resize2fs/m);
      expect(run.output()).toMatch(/shrunk the image back to its former size \(256 MiB\)/);
      expect(mountsUnder(c.dir)).toEqual([]);
      const fsck = fsckClean(c.path);
      expect(fsck.status, fsck.output).toBe(0);
      const v = verifyJson(c);
      expect(v.code, JSON.stringify(v.result)).toBe(0);
      expect(v.result).toMatchObject({verdict: 'ready', virtualSize: 256 * MiB, filesystemSize: 256 * MiB});
      expect(sha256(readData(c.path))).toBe(c.sum);
    });
  }
});

describe('a grow that fails before the filesystem changed is undone', () => {
  for (const [tool, fail, code] of [
    ['e2fsck', 'e2fsck: Cannot continue, aborting.', 8],
    ['qemu-storage-daemon', 'qemu-storage-daemon: --export type=fuse: Failed to mount FUSE: Input/output error', 1],
  ] as const) {
    it(`${tool} fails after qemu-img resize: the image is shrunk back to its exact former size, and the CLI says so`, ({onTestFinished}) => {
      const c = setup(onTestFinished);
      failingTool(c.bin, tool, fail, {code});
      const r = runCli(['resize', '--yes', c.path, '+64M'], {env: c.env});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(fail);
      expect(r.stderr).toMatch(/\$ qemu-img resize --shrink -f qcow2 -- \S+vol\.qcow2 268435456/);
      expect(r.stderr).toMatch(/shrunk the image back to its former size \(256 MiB\): the filesystem was not changed/);
      expect(r.stderr).not.toMatch(/^\$ resize2fs/m);
      expect(mountsUnder(c.dir)).toEqual([]);
      expect(spawnSync(toolPath('qemu-img'), ['check', '-f', 'qcow2', c.path]).status).toBe(0);
      const fsck = fsckClean(c.path);
      expect(fsck.status, fsck.output).toBe(0);
      const v = verifyJson(c);
      expect(v.result).toMatchObject({verdict: 'ready', virtualSize: 256 * MiB, filesystemSize: 256 * MiB});
      expect(sha256(readData(c.path))).toBe(c.sum);
    });
  }

  it('resize2fs fails: the image is not shrunk (the filesystem may have changed), and the CLI says what to run', ({onTestFinished}) => {
    const c = setup(onTestFinished);
    failingTool(c.bin, 'resize2fs', 'resize2fs: Input/output error while trying to resize', {code: 1});
    const r = runCli(['resize', '--yes', c.path, '+64M'], {env: c.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/--shrink/);
    expect(r.stderr).toMatch(/vol\.qcow2 is now 320 MiB \(it was 256 MiB\); resize2fs did not finish: its filesystem ends at 256 MiB, state "clean"/);
    expect(r.stderr).toMatch(/fix: run tdx-wizard resize \S+vol\.qcow2 335544320 again/);
    expect(resultOf(['inspect', '--json', c.path], c).result).toMatchObject({virtualSize: 320 * MiB});
  });
});

/** A 4 KiB-block ext4 qcow2 made with extra mkfs.ext4 options (-O features). */
function makeExt4(dir: string, name: string, size: string, mkfsArgs: string[]): string {
  const raw = join(dir, `${name}.raw`);
  const out = join(dir, name);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, size]);
  sh('mkfs.ext4', ['-q', '-F', '-b', '4096', '-L', 'tdx-cache', ...mkfsArgs, raw]);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  rmSync(raw);
  return out;
}

describe('a grow that cannot be reached is refused before anything changes (exit 2, the reason)', () => {
  const env = () => ({TDX_WIZARD_STATE_DIR: join(tmp.path, 'state-refuse'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config-refuse'), CI: 'true'});
  /** A fresh 256M volume in `name` made with `mkfs`, grown to `size`: refused with exit 2 and nothing changed. */
  const refused = (name: string, mkfs: string[], size: string) => {
    const dir = join(tmp.path, name);
    mkdirSync(dir, {recursive: true});
    const path = makeExt4(dir, 'vol.qcow2', '256M', mkfs);
    const before = snapshot(dir);
    const r = runCli(['resize', '--yes', path, size], {env: env()});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(/^\$ /m);
    expect(snapshot(dir)).toEqual(before);
    return {path, r};
  };

  it('a non-64bit ext4 past 16 TiB', () => {
    const {r} = refused('non64', ['-O', '^64bit'], '20T');
    expect(r.stderr).toMatch(/made without the 64bit feature: with 4096-byte blocks it cannot hold more than 2\^32 blocks \(16 TiB\), so 20 TiB cannot be reached/);
    expect(r.stderr).toMatch(/Nothing was changed/);
    expect(r.stderr).toMatch(/fix: grow to at most/);
  });

  it('past the reserved group descriptor blocks of a filesystem without meta_bg; the stated most is reachable', () => {
    // 8 reserved GDT blocks: 9 descriptor blocks of 64 groups of 128 MiB = 72 GiB at most.
    const {path, r} = refused('gdt', ['-E', 'resize=18874368'], '100G');
    expect(r.stderr).toMatch(/has room for \d+ group descriptor blocks \(\d+ reserved for growing\), enough for [\d.]+ GiB; 100 GiB needs \d+/);
    const most = /fix: grow to at most \S+ GiB \((\d+)\)/.exec(r.stderr)?.[1];
    expect(most, r.stderr).toBeDefined();
    const ok = runCli(['resize', '--yes', path, most!], {env: env()});
    expect(ok.code, ok.stderr).toBe(0);
    const fsck = fsckClean(path);
    expect(fsck.status, fsck.output).toBe(0);
  });

  it('not enough free space on the host for the metadata resize2fs writes', () => {
    const unmount = mountTmpfs(join(tmp.path, 'full'), '24M');
    try {
      const {r} = refused('full', [], '+200G');
      expect(r.stderr).toMatch(/has [\d.]+ MiB free, but growing \S+ to [\d.]+ GiB writes about [\d.]+ MiB of filesystem metadata into the image .*Nothing was changed/);
      expect(r.stderr).toMatch(/fix: free at least [\d.]+ MiB/);
    } finally {
      unmount();
    }
  });
});

describe('a long grow shows it is alive', () => {
  it('every 10 s: the command that runs and for how long (resize2fs held for 11 s)', async ({onTestFinished}) => {
    const c = setup(onTestFinished);
    const ready = join(c.bin, 'ready');
    blockingTool(c.bin, 'resize2fs', ready, {maxWaitMs: 30_000});
    const run = startGroup(['resize', '--yes', c.path, '+64M'], c.env);
    await waitFor('resize2fs to start', () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
    await waitFor('the first heartbeat', () => /still running after/.test(run.output()), 15_000);
    expect(run.output()).toMatch(/… Grow the filesystem to fill the image: still running after 1\d s\n/);
    release(ready);
    const result = await run.done;
    expect(result.code, run.output()).toBe(0);
  });
});
