// create --method nbd through the stand-in NBD layer (the nbd kernel module does not exist here):
// the fake sysfs/procfs trees and stand-in qemu-nbd/blockdev of test/fixtures/bin play the kernel,
// and a thin layer below keeps the fake /dev/nbdN file and the image in step (the device shows the
// image at connect; what was written goes back to the image at disconnect), so the real blkid and
// mkfs.ext4 run on the "device" and the whole flow runs to a verified volume. The wizard is killed at
// the step boundaries with every stop signal, and each tool is made to fail. After each: no device
// left attached, no qemu-nbd left, no state record, no half-made volume. After SIGKILL, `nbd recover`
// detaches what the killed run left and the next create removes its files.
import {mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it, type TestContext} from 'vitest';
import {runCli, startCli} from '../helpers/cli.js';
import {FAKE_BIN, FakeHost} from '../helpers/fake-host.js';
import {groupLines} from '../helpers/volumes.js';
import {requireTools, sh, tempDir, toolPath} from '../helpers/tools.js';
import {alive, blockingTool, failingTool, readyPid, release, SIGNAL_EXIT, STOP_SIGNALS, waitFor} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let syncBin: string;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'blkid', 'bash', 'awk', 'od');
  tmp = tempDir('tdxw-rel-nbd-');
  syncBin = join(tmp.path, 'sync-bin');
  mkdirSync(syncBin);
  // Below the blocking/failing stand-ins, above the fixture qemu-nbd: device file <-> image.
  writeFileSync(
    join(syncBin, 'qemu-nbd'),
    `#!/bin/bash
real='${FAKE_BIN}/qemu-nbd'
map="\${TDX_WIZARD_RUN_ROOT:?}/nbd-map"
case " $* " in
  *" --connect="*)
    dev=$(printf '%s\\n' "$@" | sed -n 's/^--connect=//p'); image=\${@: -1}
    "$real" "$@" || exit $?
    [ "\${NBD_SYNC_ON_CONNECT:-1}" = 1 ] && '${toolPath('qemu-img')}' convert -f qcow2 -O raw "$image" "$dev"
    echo "$dev $image" >>"$map"
    exit 0 ;;
  *" --disconnect "*)
    dev=\${@: -1}
    image=$(awk -v d="$dev" '$1 == d {i = $2} END {print i}' "$map" 2>/dev/null)
    [ -n "$image" ] && [ -f "$image" ] && '${toolPath('qemu-img')}' convert -n -f raw -O qcow2 "$dev" "$image"
    exec "$real" "$@" ;;
esac
exec "$real" "$@"
`,
    {mode: 0o755},
  );
});

afterAll(() => tmp?.remove());

interface Case {
  host: FakeHost;
  dir: string;
  target: string;
  state: string;
  env: NodeJS.ProcessEnv;
  bin: string;
}

let n = 0;
function setup(t: TestContext, extra: Record<string, string> = {}): Case {
  const host = new FakeHost({devices: 2});
  t.onTestFinished(() => host.remove());
  const dir = join(host.root, 'volumes');
  mkdirSync(dir);
  const bin = join(tmp.path, `bin-${++n}`);
  mkdirSync(bin);
  const state = join(host.root, 'state');
  // The stand-in kernel answers quickly (connect ready after 50 ms, free 50 ms after disconnect).
  const env = {...host.env, FAKE_NBD_READY_MS: '50', FAKE_NBD_EXIT_MS: '50', TDX_WIZARD_STATE_DIR: state, TDX_WIZARD_CONFIG_DIR: join(host.root, 'config'), CI: 'true', PATH: `${bin}:${syncBin}:${FAKE_BIN}:${process.env.PATH}`, ...extra};
  return {host, dir, target: join(dir, 'cache.qcow2'), state, env, bin};
}

const CREATE = (c: Case) => ['create', '--method', 'nbd', '--force-small', c.target, '64M'];

/** qemu-nbd processes of the fake host that are still "running". */
function fakeServers(c: Case): string[] {
  return readdirSync(c.host.roots.proc)
    .filter((p) => /^\d+$/.test(p))
    .map((p) => readFileSync(join(c.host.roots.proc, p, 'cmdline'), 'utf8'))
    .filter((cmd) => cmd.startsWith('qemu-nbd\0'));
}

function records(c: Case): unknown[] {
  try {
    return (JSON.parse(readFileSync(join(c.state, 'nbd-state.json'), 'utf8')) as {records: unknown[]}).records;
  } catch {
    return [];
  }
}

async function expectDetachedAndClean(c: Case): Promise<void> {
  await c.host.settle();
  expect(c.host.sysfsPid('nbd0')).toBeUndefined();
  expect(c.host.sysfsPid('nbd1')).toBeUndefined();
  expect(c.host.sysfsSize('nbd0')).toBe(0);
  expect(fakeServers(c)).toEqual([]);
  expect(records(c)).toEqual([]);
  expect(readdirSync(c.dir)).toEqual([]);
}

describe('create --method nbd runs to a verified volume through the stand-in layer', () => {
  it('qemu-img create, connect, probe, mkfs.ext4, blkid, flush, disconnect, verify', async (t) => {
    const c = setup(t);
    const r = runCli(CREATE(c), {env: c.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/qemu-nbd --connect=\S+\/dev\/nbd0 --format=qcow2/);
    expect(r.stderr).toMatch(/mkfs\.ext4 -F -L tdx-cache -E assume_storage_prezeroed=1 \S+\/dev\/nbd0/);
    expect(r.stderr).toMatch(/qemu-nbd --disconnect \S+\/dev\/nbd0/);
    expect(r.stdout).toMatch(/ext4 labelled "tdx-cache"/);
    await c.host.settle();
    expect(c.host.sysfsPid('nbd0')).toBeUndefined();
    expect(records(c)).toEqual([]);
    expect(runCli(['verify', c.target], {env: c.env}).code).toBe(0);
  });
});

describe('create --method nbd marks the inode tables zeroed, on a real block device', () => {
  /** Groups of the ext4 on `dev` whose inode table is marked zeroed, and all its groups. */
  const zeroedGroups = (dev: string) => {
    const groups = groupLines(dev);
    return {zeroed: groups.filter((g) => g.includes('ITABLE_ZEROED')).length, all: groups.length};
  };

  it('a loop device stands for /dev/nbd0: mkfs.ext4 is told the new image reads as zeros, and every group says so', async (t) => {
    requireTools('losetup');
    const c = setup(t);
    const backing = join(tmp.path, 'loop-backing.raw');
    writeFileSync(backing, '');
    truncateSync(backing, 64 * 2 ** 20);
    const loop = sh('losetup', ['--find', '--show', backing]).trim();
    t.onTestFinished(() => void sh('losetup', ['-d', loop]));
    // The premise: on a block device, mkfs.ext4 alone cannot know the device reads as zeros.
    sh('mkfs.ext4', ['-q', '-F', '-L', 'tdx-cache', loop]);
    const plain = zeroedGroups(loop);
    expect(plain.all).toBeGreaterThan(0);
    expect(plain.zeroed, 'plain mkfs.ext4 on a block device').toBe(0);
    rmSync(join(c.host.roots.dev, 'nbd0'));
    symlinkSync(loop, join(c.host.roots.dev, 'nbd0'));

    const r = runCli(CREATE(c), {env: c.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mkfs\.ext4 -F -L tdx-cache -E assume_storage_prezeroed=1 \S+\/dev\/nbd0/);
    expect(r.stderr).not.toMatch(/cannot mark the new inode tables/);
    const made = zeroedGroups(loop);
    expect(made.zeroed).toBe(made.all);
    expect(runCli(['verify', c.target], {env: c.env}).code).toBe(0);
  });

  it('an e2fsprogs before 1.47 (no assume_storage_prezeroed): formats without it, and says what the guest will do', async (t) => {
    const c = setup(t);
    // A stand-in that says 1.46.5 and refuses the option, as 1.46 does; otherwise the real tool.
    writeFileSync(join(c.bin, 'mkfs.ext4'), `#!/bin/bash
[ "$1" = -V ] && { echo 'mke2fs 1.46.5 (30-Dec-2021)' >&2; echo '	Using EXT2FS Library version 1.46.5' >&2; exit 0; }
case " $* " in *assume_storage_prezeroed*) echo 'Bad option(s) specified: assume_storage_prezeroed=1' >&2; exit 1 ;; esac
exec '${toolPath('mkfs.ext4')}' "$@"
`, {mode: 0o755});
    const r = runCli(CREATE(c), {env: c.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mkfs\.ext4 -F -L tdx-cache \S+\/dev\/nbd0/);
    expect(r.stderr).toMatch(/mke2fs 1\.46\.5 \(30-Dec-2021\) cannot mark the new inode tables as zeroed \(that needs e2fsprogs 1\.47\.0 or later\)/);
    expect(r.stderr).toMatch(/leave out --method nbd: the offline method marks them zeroed with any version/);
    expect(runCli(['verify', c.target], {env: c.env}).code).toBe(0);
  });
});

/** The boundaries: each tool the nbd method runs, at the call that matters. */
const STEPS = [
  {step: 'qcow2', tool: 'qemu-img', m: {when: '[ "$1" = create ]'}, fail: 'qemu-img: Could not create file: Input/output error', attached: false},
  {step: 'connect', tool: 'qemu-nbd', m: {when: '[[ "$*" == *--connect=* ]]'}, fail: 'qemu-nbd: Failed to open /dev/nbd0: Permission denied', attached: false},
  {step: 'probe', tool: 'blkid', m: {nth: 1}, fail: 'blkid: error: /dev/nbd0: Input/output error', attached: true},
  {step: 'mkfs', tool: 'mkfs.ext4', m: {}, fail: 'mkfs.ext4: Input/output error while writing out and closing file system', attached: true},
  {step: 'disconnect', tool: 'qemu-nbd', m: {when: '[[ "$*" == *--disconnect* ]]'}, fail: 'qemu-nbd: Cannot disconnect: Input/output error', attached: true},
  {step: 'verify', tool: 'qemu-img', m: {when: '[ "$1" = info ]', nth: 2}, fail: "qemu-img: Could not open 'volume.qcow2': Input/output error", attached: false},
] as const;

const realOf = (tool: string) => (tool === 'qemu-nbd' ? join(syncBin, 'qemu-nbd') : toolPath(tool));

describe('create --method nbd: killed at the step boundaries', () => {
  for (const {step, tool, m, attached} of STEPS) {
    for (const signal of STOP_SIGNALS) {
      it(`${signal} while ${tool} runs (step "${step}")`, async (t) => {
        const c = setup(t);
        const ready = join(c.bin, 'ready');
        blockingTool(c.bin, tool, ready, {...m, real: realOf(tool)});
        const run = startCli(CREATE(c), {env: c.env});
        await waitFor(`${tool} to start`, () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
        expect(run.child.exitCode, run.output()).toBeNull(); // it got there, and waits in the stand-in
        const toolPid = readyPid(ready);
        run.child.kill(signal);
        if (step === 'disconnect' && signal !== 'SIGKILL') {
          // A disconnect is cleanup: the stop signal does not cancel it, and the exit waits for it.
          await new Promise((r) => setTimeout(r, 300));
          expect(run.child.exitCode).toBeNull();
          release(ready);
        }
        const result = await run.done;
        if (signal !== 'SIGKILL') {
          expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
          await waitFor('the tool to be stopped', () => !alive(toolPid), 5000);
          await expectDetachedAndClean(c);
          if (attached) expect(run.output()).toMatch(/qemu-nbd --disconnect/);
          return;
        }
        expect(result.code).toBeNull();
        release(ready);
        await waitFor('the orphaned tool to finish', () => !alive(toolPid), 20_000);
        await c.host.settle();
        const pid = run.child.pid!;
        // The next start: nbd recover finds what the killed run left attached, and detaches it.
        const recover = runCli(['nbd', 'recover', '--yes'], {env: c.env});
        expect(recover.code, recover.stderr).toBe(0);
        const leftAttached = new RegExp(`/dev/nbd0: attached, detached: /dev/nbd0 still serves \\S+ the run that attached it \\(pid ${pid}\\) ended without detaching`);
        if (step === 'connect' || step === 'probe' || step === 'mkfs') {
          // The orphaned connect still went through (the record was written before it): detached now.
          expect(recover.stdout).toMatch(leftAttached);
        } else if (step === 'disconnect') {
          // The orphaned disconnect may or may not have gone through (it writes to a dead pipe).
          expect(recover.stdout).toMatch(new RegExp(`${leftAttached.source}|/dev/nbd0: gone, forgotten: /dev/nbd0 is free`));
        } else {
          expect(recover.stdout).toMatch(/nothing to recover/);
        }
        await c.host.settle();
        expect(c.host.sysfsPid('nbd0')).toBeUndefined();
        expect(fakeServers(c)).toEqual([]);
        expect(records(c)).toEqual([]);
        // And the next create removes the work directory and the reserved name, then succeeds.
        const again = runCli(CREATE(c), {env: c.env});
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(new RegExp(`earlier create of ${c.target} \\(pid ${pid}\\) was killed before it could clean up: removed its work directory`));
        expect(readdirSync(c.dir)).toEqual(['cache.qcow2']);
        await c.host.settle();
        expect(c.host.sysfsPid('nbd0')).toBeUndefined();
      });
    }
  }
});

describe('create --method nbd: stopped while waiting for the kernel to show the device ready', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: the connection is undone (disconnected, confirmed), nothing left`, async (t) => {
      const c = setup(t, {FAKE_NBD_READY_MS: '2000'});
      const run = startCli(CREATE(c), {env: c.env});
      await waitFor('qemu-nbd --connect to have returned', () => /\$ blkid|Failed|failed/.test(run.output()) || c.host.log().some((l) => l.startsWith('qemu-nbd --connect')));
      await new Promise((r) => setTimeout(r, 300)); // inside the wait for sysfs
      expect(c.host.sysfsPid('nbd0')).toBeUndefined(); // not ready yet
      run.child.kill(signal);
      const result = await run.done;
      expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
      expect(run.output()).toMatch(/qemu-nbd --disconnect \S+\/dev\/nbd0/);
      await expectDetachedAndClean(c);
    });
  }
});

describe('create --method nbd: each tool fails', () => {
  for (const {step, tool, m, fail, attached} of STEPS) {
    it(`${tool} fails (step "${step}"): exit 1 with its words, detached, nothing left`, async (t) => {
      const c = setup(t);
      failingTool(c.bin, tool, fail, {...m, real: realOf(tool)});
      const r = runCli(CREATE(c), {env: c.env});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(fail);
      if (attached && step !== 'disconnect') expect(r.stderr).toMatch(/qemu-nbd --disconnect/);
      if (step === 'disconnect') {
        // qemu-nbd --disconnect failing leaves the device connected: the wizard says so and the
        // record stays, for nbd recover; the half-made volume is still removed.
        expect(r.stderr).toMatch(/nbd recover|still connected|nbd0/);
        expect(readdirSync(c.dir)).toEqual([]);
        rmSync(join(c.bin, 'qemu-nbd'));
        const recover = runCli(['nbd', 'recover', '--yes'], {env: c.env});
        expect(recover.code, recover.stderr).toBe(0);
        expect(recover.stdout).toMatch(/\/dev\/nbd0: attached, detached/);
      }
      await expectDetachedAndClean(c);
    });
  }

  it('the device already holds a filesystem (not what the new image shows): refuses to format it', async (t) => {
    const c = setup(t, {NBD_SYNC_ON_CONNECT: '0'});
    // What a device that is really someone else's would show: an ext4 filesystem.
    const dev = join(c.host.roots.dev, 'nbd0');
    truncateSync(dev, 64 * 2 ** 20);
    sh('mkfs.ext4', ['-q', '-F', '-L', 'precious', dev]);
    const r = runCli(CREATE(c), {env: c.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/nbd0 already holds ext4; refusing to format it/);
    expect(r.stderr).not.toMatch(/\$ mkfs\.ext4/);
    expect(sh('blkid', ['-p', '-o', 'export', dev])).toMatch(/LABEL=precious/);
    await expectDetachedAndClean(c);
  });
});
