// relabel and resize (grow) on real volumes with known data, attached through a real
// qemu-storage-daemon FUSE export: the wizard is killed at every step boundary (SIGINT, SIGTERM,
// SIGHUP, SIGKILL) and every tool is made to fail. After each: no FUSE export left mounted, no
// qemu-storage-daemon left, the data reads back the same, qemu-img check is clean. After SIGKILL the
// daemon of the killed run is still attached: the next start of a write command reports it and stops
// it gracefully, then does the job.
import {existsSync, mkdirSync, readdirSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, startCli} from '../helpers/cli.js';
import {requireTools, tempDir, toolPath} from '../helpers/tools.js';
import {makeVolume, randomData, readData, sha256} from '../helpers/volumes.js';
import {alive, blockingTool, sleep, failingTool, mountsUnder, processesUsing, readyPid, release, SIGNAL_EXIT, STOP_SIGNALS, waitFor} from '../helpers/reliability.js';
import {spawnSync} from 'node:child_process';

let tmp: ReturnType<typeof tempDir>;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'fusermount3', 'mkfs.ext4', 'e2label', 'e2fsck', 'resize2fs', 'debugfs', 'bash');
  tmp = tempDir('tdxw-rel-vol-');
});
afterAll(() => tmp?.remove());

/** Whatever a failed case left (a daemon, a mount) is stopped gracefully (SIGTERM), then unmounted. */
async function cleanUp(c: Case): Promise<void> {
  for (const p of processesUsing(c.dir)) process.kill(p.pid, 'SIGTERM');
  await waitFor('leftover daemons to exit', () => processesUsing(c.dir).length === 0, 30_000);
  for (const line of mountsUnder(c.dir)) spawnSync('fusermount3', ['-u', '-z', line.split(' ')[4]!]);
}

const MiB = 2 ** 20;

interface Case {
  dir: string;
  path: string;
  state: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  sum: string;
}

let n = 0;
function setup(label: string, onFinished: (fn: () => Promise<void>) => void): Case {
  const dir = join(tmp.path, `case-${++n}`);
  mkdirSync(dir);
  const data = randomData();
  const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label, size: '256M', data});
  const state = join(dir, 'state');
  const bin = join(dir, 'bin');
  const c = {dir, path, state, bin, env: {TDX_WIZARD_STATE_DIR: state, TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true', PATH: `${bin}:${process.env.PATH}`}, sum: sha256(data)};
  onFinished(() => cleanUp(c));
  return c;
}

function info(c: Case): Record<string, unknown> {
  const r = runCli(['inspect', '--json', c.path], {env: c.env});
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result')!;
}

function qemuImgCheck(path: string): number | null {
  return spawnSync(toolPath('qemu-img'), ['check', '-f', 'qcow2', path], {encoding: 'utf8'}).status;
}

/** Nothing attached, nothing running, the data as it was, the image clean. */
function expectIntact(c: Case, output = ''): void {
  expect(mountsUnder(c.state), output).toEqual([]);
  expect(processesUsing(c.dir), output).toEqual([]);
  const attach = join(c.state, 'attach');
  expect(existsSync(attach) ? readdirSync(attach) : [], output).toEqual([]);
  expect(qemuImgCheck(c.path)).toBe(0);
  expect(sha256(readData(c.path))).toBe(c.sum);
}

const OPS = {
  relabel: {
    label: 'wrong-label',
    args: (c: Case) => ['relabel', '--yes', c.path],
    steps: [
      {step: 'attach', tool: 'qemu-storage-daemon', m: {}, fail: 'qemu-storage-daemon: --export type=fuse: Failed to mount FUSE: Input/output error', attached: false, wrote: false},
      {step: 'write-label', tool: 'e2label', m: {}, fail: 'e2label: Input/output error while trying to open disk', attached: true, wrote: false},
      {step: 'check', tool: 'qemu-img', m: {when: '[ "$1" = check ]'}, fail: 'ERROR cluster 5 refcount=0 reference=1\n1 errors were found on the image.', code: 2, attached: false, wrote: true},
    ],
    /** What the volume is once the job is done. */
    done: (i: Record<string, unknown>) => expect(i).toMatchObject({label: 'tdx-cache', verdict: 'ready'}),
    untouched: (i: Record<string, unknown>) => expect(i).toMatchObject({label: 'wrong-label'}),
  },
  resize: {
    label: 'tdx-cache',
    args: (c: Case) => ['resize', '--yes', c.path, '320M'],
    steps: [
      {step: 'grow-container', tool: 'qemu-img', m: {when: '[ "$1" = resize ]'}, fail: 'qemu-img: Could not resize image: Input/output error', attached: false, wrote: false},
      {step: 'attach', tool: 'qemu-storage-daemon', m: {}, fail: 'qemu-storage-daemon: --export type=fuse: Failed to mount FUSE: Input/output error', attached: false, wrote: true},
      {step: 'fsck', tool: 'e2fsck', m: {}, fail: 'e2fsck: Cannot continue, aborting.', code: 8, attached: true, wrote: true},
      {step: 'grow-fs', tool: 'resize2fs', m: {}, fail: 'resize2fs: Input/output error while trying to resize', attached: true, wrote: true},
      {step: 'check', tool: 'qemu-img', m: {when: '[ "$1" = check ]'}, fail: 'ERROR cluster 5 refcount=0 reference=1\n1 errors were found on the image.', code: 2, attached: false, wrote: true},
    ],
    done: (i: Record<string, unknown>) => expect(i).toMatchObject({virtualSize: 320 * MiB, filesystemSize: 320 * MiB, verdict: 'ready'}),
    untouched: (i: Record<string, unknown>) => expect(i).toMatchObject({virtualSize: 256 * MiB, filesystemSize: 256 * MiB}),
  },
} as const;

for (const [op, spec] of Object.entries(OPS)) {
  describe(`${op}: killed at every step boundary`, () => {
    for (const {step, tool, m, attached, wrote} of spec.steps) {
      for (const signal of STOP_SIGNALS) {
        it(`${signal} while ${tool} runs (step "${step}")`, async ({onTestFinished}) => {
          const c = setup(spec.label, onTestFinished);
          const ready = join(c.bin, 'ready');
          blockingTool(c.bin, tool, ready, {...m});
          const run = startCli(spec.args(c), {env: c.env});
          await waitFor(`${tool} to start`, () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
          expect(run.child.exitCode, run.output()).toBeNull(); // it got there, and waits in the stand-in
          const toolPid = readyPid(ready);
          run.child.kill(signal);
          if (signal !== 'SIGKILL' && (tool === 'e2fsck' || tool === 'resize2fs')) {
            // Never signalled (resize-uninterruptible.test.ts): the stop waits for the tool to end.
            await sleep(300);
            expect(alive(toolPid), run.output()).toBe(true);
            release(ready);
          }
          const result = await run.done;
          if (signal !== 'SIGKILL') {
            expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
            await waitFor('the tool to be stopped', () => !alive(toolPid), 5000);
            if (attached) expect(run.output()).toMatch(/\$ kill -TERM \d+/); // the graceful detach ran
            expectIntact(c, run.output());
            if (!wrote) spec.untouched(info(c));
            return;
          }
          expect(result.code).toBeNull();
          // The tool goes on alone (the killed wizard cannot stop it), then ends.
          release(ready);
          await waitFor('the orphaned tool to finish', () => !alive(toolPid), 30_000);
          const leftDaemon = attached || step === 'attach';
          if (leftDaemon) {
            expect(mountsUnder(c.state)).toHaveLength(1);
            expect(processesUsing(c.dir).map((p) => p.argv[0]!.split('/').pop())).toEqual(['qemu-storage-daemon']);
          }
          // The next start of the same command reports the leftover, stops it gracefully, and does the job.
          const again = runCli(spec.args(c), {env: c.env});
          expect(again.code, again.stderr).toBe(0);
          if (leftDaemon) {
            expect(again.stderr).toMatch(new RegExp(`an earlier run \\(pid ${run.child.pid}\\) was killed while ${c.path} was attached: stopped its qemu-storage-daemon \\(pid \\d+\\) gracefully`));
          }
          if (op === 'resize' && step === 'grow-container') expect(again.stderr).toMatch(/its filesystem fills only 256 MiB: an earlier resize stopped after growing the image; growing the filesystem now/);
          expectIntact(c);
          spec.done(info(c));
        });
      }
    }
  });

  describe(`${op}: each tool fails`, () => {
    for (const {step, tool, m, fail, wrote, ...rest} of spec.steps) {
      it(`${tool} fails (step "${step}"): exit 1 with its words; detached, data intact`, ({onTestFinished}) => {
        const c = setup(spec.label, onTestFinished);
        failingTool(c.bin, tool, fail, {...m, code: 'code' in rest ? rest.code : 1});
        const r = runCli(spec.args(c), {env: c.env});
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(fail.split('\n')[0]);
        if (step === 'check') expect(r.stderr).toMatch(/qemu-img check: the image is corrupt[\s\S]*fix: inspect it with: qemu-img check/);
        if (step === 'fsck') expect(r.stderr).toMatch(/e2fsck stopped with exit code 8: e2fsck could not run \(operational error\); the filesystem was not resized/);
        expectIntact(c);
        if (!wrote) spec.untouched(info(c));
      });
    }
  });
}

describe('the FUSE daemon dies under the wizard', () => {
  it('qemu-storage-daemon killed with SIGKILL while e2label runs: e2label fails, the dead mount is removed, the data is intact', ({onTestFinished}) => {
    const c = setup('wrong-label', onTestFinished);
    // e2label's stand-in kills the daemon serving its FUSE file first (daemon.pid sits beside it).
    failingTool(c.bin, 'e2label', 'unused', {when: 'kill -9 "$(cat "$(dirname "$1")/daemon.pid")"; sleep 0.3; false'});
    const r = runCli(['relabel', '--yes', c.path], {env: c.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/Set the ext4 label to tdx-cache failed/);
    expect(r.stderr).toMatch(/\$ fusermount3 -u -z \S+\/disk/);
    expectIntact(c);
    expect(info(c)).toMatchObject({label: 'wrong-label'});
  });
});

describe("a refused command leaves another run's leftovers alone", () => {
  it('relabel, resize, format and repair refused as bad input (exit 2) neither stop the killed run\'s daemon nor remove its directory; the next accepted command on that volume does', async ({onTestFinished}) => {
    const c = setup('wrong-label', onTestFinished);
    const ready = join(c.bin, 'ready');
    blockingTool(c.bin, 'e2label', ready, {});
    const run = startCli(OPS.relabel.args(c), {env: c.env});
    await waitFor('e2label to start', () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
    const toolPid = readyPid(ready);
    run.child.kill('SIGKILL');
    await run.done;
    release(ready);
    await waitFor('the orphaned tool to finish', () => !alive(toolPid), 30_000);
    const daemons = () => processesUsing(c.dir).map((p) => p.argv[0]!.split('/').pop());
    expect(daemons()).toEqual(['qemu-storage-daemon']);
    const rawNamed = join(c.dir, 'raw-named.qcow2');
    spawnSync('truncate', ['-s', '16M', rawNamed]);
    for (const args of [['relabel', '--yes', rawNamed], ['resize', '--yes', rawNamed, '+1G'], ['format', '--yes', rawNamed], ['repair', '--yes', rawNamed]]) {
      const r = runCli(args, {env: c.env});
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args[0]).not.toMatch(/an earlier run/);
      expect(daemons(), args[0]).toEqual(['qemu-storage-daemon']);
      expect(mountsUnder(c.state), args[0]).toHaveLength(1);
    }
    const again = runCli(OPS.relabel.args(c), {env: c.env});
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`an earlier run \\(pid ${run.child.pid}\\) was killed while ${c.path} was attached: stopped its qemu-storage-daemon`));
    expectIntact(c);
  });
});
