// trusted-storage killed (SIGKILL: no cleanup can run) at every step of create, then teardown:
// nothing is left (no file, no loop device, no unit, no manifests, no record). And teardown killed
// at each of its steps, then run again: the rerun finishes, and nothing is left. The stops: a
// stand-in that blocks at the tool the step runs (fallocate, losetup, systemctl, kubectl), or
// strace delaying the return of the system call that writes or removes the step's file.
import {lstatSync, mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs';
import {spawnSync} from 'node:child_process';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli, startCli} from '../helpers/cli.js';
import {standInKubectl, guestPullConfig} from '../helpers/kubectl.js';
import {alive, blockingTool, childOf, readyPid, release, startTraced, waitFor} from '../helpers/reliability.js';
import {requireTools, tempDir, toolPath} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;

beforeAll(() => {
  requireTools('losetup', 'fallocate', 'systemctl', 'strace');
  tmp = tempDir('tdxw-trusted-kill-');
});
afterAll(() => {
  // a failed case's loop devices, found by their backing files
  for (const line of spawnSync('losetup', ['-a'], {encoding: 'utf8'}).stdout.split('\n')) if (tmp && line.includes(tmp.path)) spawnSync('losetup', ['-d', line.split(':')[0]!]);
  tmp?.remove();
});

function place() {
  const d = join(tmp.path, `case-${++n}`);
  const unitDir = join(d, 'root/etc/systemd/system');
  for (const sub of ['vol', 'bin', 'kube']) mkdirSync(join(d, sub), {recursive: true});
  mkdirSync(unitDir, {recursive: true});
  // the stand-in cluster in its own directory: a blocking stand-in in bin/ may run it as "the real kubectl"
  standInKubectl(join(d, 'kube'), join(d, 'kubectl.log'), {context: 'tdx-lab', reachable: true, runtimeClasses: {'kata-qemu-tdx': 'kata-qemu-tdx'}, nodes: ['node-1']});
  writeFileSync(join(d, 'containerd.toml'), guestPullConfig('kata-qemu-tdx'));
  const env = {TDX_WIZARD_STATE_DIR: join(d, 'state'), TDX_WIZARD_CONFIG_DIR: join(d, 'config'), CI: 'true', PATH: `${join(d, 'bin')}:${join(d, 'kube')}:${process.env.PATH}`};
  const vol = join(d, 'vol');
  const paths = {record: join(vol, 'ts.trusted.json'), file: join(vol, 'ts.img'), manifests: join(vol, 'ts.k8s.yaml'), unit: join(unitDir, 'tdx-wizard-trusted-ts.service')};
  const create = ['trusted-storage', 'create', 'ts', '--size', '64M', '--dir', vol, '--node', 'node-1', '--unit-dir', unitDir, '--systemd-root', join(d, 'root'), '--containerd-config', join(d, 'containerd.toml'), '--yes', '--apply'];
  const teardown = ['trusted-storage', 'teardown', 'ts', '--dir', vol, '--confirm', 'ts', '--kubectl'];
  return {d, env, vol, unitDir, paths, create, teardown};
}
type Place = ReturnType<typeof place>;

const exists = (path: string) => statSync(path, {throwIfNoEntry: false}) !== undefined;

function expectNothingLeft(p: Place, output: string): void {
  expect(readdirSync(p.vol), output).toEqual([]); // no file, no manifests, no record
  expect(readdirSync(p.unitDir, {recursive: true}), output).toEqual([]); // no unit, no link that enables it
  expect(spawnSync('losetup', ['-a'], {encoding: 'utf8'}).stdout.split('\n').filter((l) => l.includes(p.d)), output).toEqual([]);
}

interface Stop {
  at: string;
  /** A stand-in blocks at this tool when `when` holds. */
  tool?: string;
  when?: string;
  /** Or strace delays the return of this system call on this path (its `nth` call), and `reached` tells it happened. */
  trace?: {syscall: string; path: (p: Place) => string; nth?: number; reached: (p: Place) => boolean};
  /** What the killed create left (proof the stop was where it says): the directory's entries, a loop device attached, the unit's state. */
  left?: {vol: string[]; loop: boolean; unit: 'none' | 'written' | 'enabled'};
}

function leftBehind(p: Place): Stop['left'] {
  // the link points into the running system's /etc (systemctl --root), so it dangles here: lstat, not stat
  const enabled = lstatSync(join(p.unitDir, 'multi-user.target.wants/tdx-wizard-trusted-ts.service'), {throwIfNoEntry: false}) !== undefined;
  return {vol: readdirSync(p.vol).sort(), loop: spawnSync('losetup', ['-a'], {encoding: 'utf8'}).stdout.includes(p.d), unit: enabled ? 'enabled' : exists(p.paths.unit) ? 'written' : 'none'};
}

/** Runs `args` until the stop, SIGKILLs the CLI there, and lets a blocked tool carry on alone and end, as it would. */
async function killAt(p: Place, stop: Stop, args: string[]): Promise<string> {
  if (stop.tool) {
    const ready = join(p.d, `ready-${stop.tool}`);
    blockingTool(join(p.d, 'bin'), stop.tool, ready, {when: stop.when, real: stop.tool === 'kubectl' ? join(p.d, 'kube/kubectl') : toolPath(stop.tool)});
    const run = startCli(args, {env: p.env});
    await waitFor(`${stop.tool} to start`, () => exists(ready) || run.child.exitCode !== null, 45_000);
    expect(run.child.exitCode, run.output()).toBeNull();
    const toolPid = readyPid(ready);
    run.child.kill('SIGKILL');
    await run.done;
    release(ready);
    await waitFor('the orphaned tool to finish', () => !alive(toolPid), 20_000);
    spawnSync('rm', ['-f', join(p.d, 'bin', stop.tool), ready, `${ready}.go`]);
    return run.output();
  }
  const t = stop.trace!;
  const inject = `inject=${t.syscall}:delay_exit=2000000${t.nth ? `:when=${t.nth}` : ''}`;
  const traced = startTraced(['-f', '-qq', '-o', '/dev/null', '-P', t.path(p), '-e', `trace=${t.syscall}`, '-e', inject, process.execPath, CLI, ...args], p.env);
  await waitFor(`the stop at ${stop.at}`, () => t.reached(p) || traced.child.exitCode !== null, 45_000);
  expect(traced.child.exitCode).toBeNull();
  process.kill(childOf(traced.child.pid!), 'SIGKILL');
  const r = await traced.done;
  return r.stdout + r.stderr;
}

const CREATE_STOPS: Stop[] = [
  {at: 'the first record being written', trace: {syscall: 'openat', path: (p) => `${p.paths.record}.tmp`, nth: 1, reached: (p) => exists(`${p.paths.record}.tmp`)}, left: {vol: ['ts.trusted.json.tmp'], loop: false, unit: 'none'}},
  {at: 'fallocate', tool: 'fallocate', left: {vol: ['ts.img', 'ts.trusted.json'], loop: false, unit: 'none'}},
  {at: 'losetup attaching the file', tool: 'losetup', when: '[ "$1 $2" = "--find --show" ]', left: {vol: ['ts.img', 'ts.trusted.json'], loop: true, unit: 'none'}},
  {at: 'the record of the device being written', trace: {syscall: 'openat', path: (p) => `${p.paths.record}.tmp`, nth: 2, reached: (p) => exists(`${p.paths.record}.tmp`) && exists(p.paths.file)}, left: {vol: ['ts.img', 'ts.trusted.json', 'ts.trusted.json.tmp'], loop: true, unit: 'none'}},
  {at: 'the unit being written', trace: {syscall: 'openat', path: (p) => p.paths.unit, reached: (p) => exists(p.paths.unit)}, left: {vol: ['ts.img', 'ts.trusted.json'], loop: true, unit: 'written'}},
  {at: 'systemctl enable', tool: 'systemctl', when: '[ "$3" = enable ]', left: {vol: ['ts.img', 'ts.trusted.json'], loop: true, unit: 'enabled'}},
  {at: 'the manifests being written', trace: {syscall: 'openat', path: (p) => p.paths.manifests, reached: (p) => exists(p.paths.manifests)}, left: {vol: ['ts.img', 'ts.k8s.yaml', 'ts.trusted.json'], loop: true, unit: 'enabled'}},
  {at: 'kubectl apply', tool: 'kubectl', when: '[ "$1" = apply ]', left: {vol: ['ts.img', 'ts.k8s.yaml', 'ts.trusted.json'], loop: true, unit: 'enabled'}},
];

describe('trusted-storage create: SIGKILL at every step, then teardown leaves nothing', () => {
  for (const stop of CREATE_STOPS) {
    it(`killed at ${stop.at}`, async () => {
      const p = place();
      const output = await killAt(p, stop, p.create);
      expect(leftBehind(p), output).toEqual(stop.left);
      const down = runCli(p.teardown, {env: p.env});
      expect(down.code, output + down.stderr).toBe(0);
      expectNothingLeft(p, output + down.stderr);
      // and the name is free again: create runs to the end
      const again = runCli(p.create, {env: p.env});
      expect(again.code, again.stderr).toBe(0);
      expect(runCli(p.teardown, {env: p.env}).code).toBe(0);
      expectNothingLeft(p, '');
    });
  }
});

const TEARDOWN_STOPS: Stop[] = [
  {at: 'kubectl delete', tool: 'kubectl', when: '[ "$1" = delete ]'},
  {at: 'systemctl disable', tool: 'systemctl', when: '[ "$3" = disable ]'},
  {at: 'losetup -d', tool: 'losetup', when: '[ "$1" = -d ]'},
  {at: 'the file being removed', trace: {syscall: 'unlink,unlinkat', path: (p) => p.paths.file, reached: (p) => !exists(p.paths.file)}},
  {at: 'the manifests being removed', trace: {syscall: 'unlink,unlinkat', path: (p) => p.paths.manifests, reached: (p) => !exists(p.paths.manifests)}},
];

describe('trusted-storage teardown: SIGKILL at each step, then teardown again finishes', () => {
  for (const stop of TEARDOWN_STOPS) {
    it(`killed at ${stop.at}`, async () => {
      const p = place();
      const made = runCli(p.create, {env: p.env});
      expect(made.code, made.stderr).toBe(0);
      const output = await killAt(p, stop, p.teardown);
      const again = runCli(p.teardown, {env: p.env});
      expect(again.code, output + again.stderr).toBe(0);
      expectNothingLeft(p, output + again.stderr);
    });
  }
});
