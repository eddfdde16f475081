// create (offline method, real tools): the wizard is killed at every step boundary (SIGINT, SIGTERM,
// SIGHUP, SIGKILL) and every tool it runs is made to fail. After each: no half-made volume, no tool
// left running, the neighbouring volume's data intact. After SIGKILL (no cleanup can run) the next
// create of the same target reports what the killed run left and removes it.
import {spawnSync} from 'node:child_process';
import {mkdirSync, readdirSync, rmSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli, startCli} from '../helpers/cli.js';
import {requireTools, sh, tempDir} from '../helpers/tools.js';
import {makeVolume, randomData, readData, sha256} from '../helpers/volumes.js';
import {alive, blockingTool, childOf, failingTool, processesUsing, readyPid, release, SIGNAL_EXIT, startTraced, STOP_SIGNALS, waitFor} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let dir: string; // where the volumes go: a neighbour with known data, and the one being created
let env: NodeJS.ProcessEnv;
let neighbour: string;
let scratch: string;
let neighbourSum: string;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'bash', 'sleep');
  tmp = tempDir('tdxw-rel-create-');
  dir = join(tmp.path, 'volumes');
  mkdirSync(dir);
  // A scratch directory of its own for the raw file (not the shared /dev/shm): what a killed run
  // leaves there is this file's to find, and other test files' creates cannot reclaim it first.
  scratch = join(tmp.path, 'scratch');
  mkdirSync(scratch);
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), TDX_WIZARD_SCRATCH_DIR: scratch, CI: 'true'};
  const data = randomData();
  neighbour = makeVolume(dir, 'existing.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '256M', data});
  neighbourSum = sha256(data);
});

afterAll(() => tmp?.remove());

/**
 * The offline method's tools, in the order it runs them, and how each one fails for real. The raw
 * file before them is made in-process (test/create.test.ts makes that fail); killed during mkfs,
 * the run has made it.
 */
const STEPS = [
  {step: 'mkfs', tool: 'mkfs.ext4', title: /Format ext4, label tdx-cache failed/, fail: 'mkfs.ext4: Input/output error while writing out and closing file system'},
  {step: 'convert', tool: 'qemu-img', when: '[ "$1" = convert ]', title: /Convert to qcow2 \(only the written blocks\) failed/, fail: 'qemu-img: error while writing at byte 0: Input/output error'},
  {step: 'verify', tool: 'qemu-img', when: '[ "$1" = info ]', title: /Read volume\.qcow2 with qemu-img info failed/, fail: "qemu-img: Could not open 'volume.qcow2': Input/output error"},
] as const;

let n = 0;
function caseBin(): string {
  return join(tmp.path, `bin-${++n}`);
}

/** Nothing but the neighbour: no reserved file, no work directory. */
function expectNothingLeft(): void {
  expect(readdirSync(dir)).toEqual(['existing.qcow2']);
  expect(readdirSync(scratch)).toEqual([]); // the raw file's directory, in the scratch space
  expect(processesUsing(dir)).toEqual([]);
}

describe('create: killed at every step boundary', () => {
  for (const {step, tool, ...m} of STEPS) {
    for (const signal of STOP_SIGNALS) {
      it(`${signal} while ${tool} runs (step "${step}")`, async () => {
        const bin = caseBin();
        const ready = join(bin, 'ready');
        blockingTool(bin, tool, ready, {when: 'when' in m ? m.when : undefined});
        const target = join(dir, 'cache.qcow2');
        const run = startCli(['create', '--force-small', target, '64M'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
        await waitFor(`${tool} to start`, () => statSync(ready, {throwIfNoEntry: false}) !== undefined || run.child.exitCode !== null, 45_000);
        expect(run.child.exitCode, run.output()).toBeNull(); // it got there, and waits in the stand-in
        const toolPid = readyPid(ready);
        run.child.kill(signal);
        const result = await run.done;
        if (signal !== 'SIGKILL') {
          expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
          await waitFor('the tool to be stopped', () => !alive(toolPid), 5000);
          expectNothingLeft();
          return;
        }
        // SIGKILL: no cleanup could run. The tool carries on alone, then ends.
        expect(result.code).toBeNull();
        release(ready);
        await waitFor('the orphaned tool to finish', () => !alive(toolPid), 20_000);
        const left = readdirSync(dir).sort();
        const workDir = left.find((f) => f.startsWith('.cache.qcow2.tdx-wizard-'));
        expect(workDir, left.join(' ')).toBe(`.cache.qcow2.tdx-wizard-${run.child.pid}`);
        expect(statSync(target).size).toBe(0); // the reservation, never a half-made volume at the name
        // The next start reports what the killed run left, removes it, and creates the volume.
        const again = runCli(['create', '--force-small', target, '64M'], {env});
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(new RegExp(`earlier create of ${target} \\(pid ${run.child.pid}\\) was killed before it could clean up: removed its work directory ${dir}/${workDir} and the empty file that reserved cache\\.qcow2`));
        expect(readdirSync(dir).sort()).toEqual(['cache.qcow2', 'existing.qcow2']);
        // The raw file's directory too, if the killed run had made it (from the raw step on).
        expect(readdirSync(scratch)).toEqual([]);
        expect(runCli(['verify', target], {env}).code).toBe(0);
        rmSync(target);
      });
    }
  }
});

describe('create: each tool fails', () => {
  for (const {step, tool, title, fail, ...m} of STEPS) {
    it(`${tool} fails (step "${step}"): exit 1, the step and the tool's words, nothing left`, () => {
      const bin = caseBin();
      failingTool(bin, tool, fail, {when: 'when' in m ? m.when : undefined});
      const r = runCli(['create', '--force-small', join(dir, 'cache.qcow2'), '64M'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(title);
      expect(r.stderr).toContain(fail);
      expectNothingLeft();
    });
  }

  it('a tool that is not installed: exit 1, names the Debian package, nothing left', () => {
    requireTools('unshare', 'mount');
    // mkfs.ext4 gone from the host as this run sees it: an empty directory over /usr/sbin (and so
    // /sbin) in a mount namespace of its own. The wizard also looks there when PATH lacks it.
    const empty = caseBin();
    mkdirSync(empty);
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /usr/sbin && exec "$@"', empty, process.execPath, CLI, 'create', '--force-small', join(dir, 'cache.qcow2'), '64M'], {env: {...process.env, ...env}, encoding: 'utf8'});
    const r = {code: run.status, stderr: run.stderr};
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/mkfs\.ext4 was not found\. Install it: apt-get install e2fsprogs/);
    expectNothingLeft();
  });
});

describe('the neighbouring volume', () => {
  it('is untouched by all of the above: same data, qemu-img check clean', () => {
    expect(sha256(readData(neighbour))).toBe(neighbourSum);
    expect(sh('qemu-img', ['check', '-f', 'qcow2', neighbour])).toMatch(/No errors were found/);
  });
});

describe('create: a stop in the first moments', () => {
  // The reservation's openat made slow (strace delays its return by 1.5 s, after the file exists):
  // a stop that arrives then must find the undo already knowing about the file.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while the name is being reserved: the empty file is removed, exit ${SIGNAL_EXIT[signal]}`, async () => {
      requireTools('strace');
      const target = join(dir, `early-${signal}.qcow2`);
      const trace = startTraced(['-f', '-qq', '-o', '/dev/null', '-P', target, '-e', 'trace=openat', '-e', 'inject=openat:delay_exit=1500000', process.execPath, CLI, 'create', '--force-small', target, '64M'], env);
      await waitFor('the reservation to exist', () => statSync(target, {throwIfNoEntry: false}) !== undefined, 30_000);
      const node = childOf(trace.child.pid!);
      process.kill(node, signal);
      const result = await trace.done;
      try {
        expect(result.code, result.stdout + result.stderr).toBe(SIGNAL_EXIT[signal]);
        expectNothingLeft();
      } finally {
        rmSync(target, {force: true});
      }
    });
  }
});
