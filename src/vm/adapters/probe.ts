// Status and stop as every adapter does them: the pid file and /proc, never the launcher (run-td
// stops the running VM whenever it is called, except with --help).
import {readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {join} from 'node:path';
import {pidFile} from '../../paths.js';
import {StepError} from '../../errors.js';
import type {Runner} from '../../runner/runner.js';
import {processAlive, processCmdline, readPidFile, type PidState} from '../pid.js';
import type {Invocation, VmProbe} from './types.js';

function said(state: PidState): string {
  switch (state.state) {
    case 'absent':
      return 'absent';
    case 'unreadable':
      return `unreadable (${state.error})`;
    case 'stale':
      return state.pid ? `names pid ${state.pid}, which has ended` : 'holds no pid';
    case 'running':
      return `pid ${state.pid}, alive`;
    case 'untrusted':
      return `${state.why}: not believed`;
  }
}

/** The -name argument QEMU was started with (`chutes-td,process=chutes-td,…`), or the first words. */
function brief(argv: string[]): string {
  const i = argv.indexOf('-name');
  const name = i >= 0 ? ` … -name ${argv[i + 1]}` : '';
  return `${argv.slice(0, 2).join(' ')}${name}`.slice(0, 200);
}

/** Whether a command line is QEMU started with `-name …,process=NAME`. */
export function isQemuNamed(argv: string[], name: string): boolean {
  const named = new RegExp(`(^|,)process=${name}(,|$)`);
  return argv.some((a) => /qemu/.test(a)) && argv.some((a) => named.test(a));
}

/**
 * The VM from the pid file. With `processName`, the live pid must also be a QEMU started as
 * `process=<name>`: a pid file left by a killed VM can name a number the system has given to
 * something else since.
 */
export function probeVm(processName?: string): VmProbe {
  const file = pidFile();
  const pidState = readPidFile(file);
  const evidence = [`pid file ${file}: ${said(pidState)}`];
  const pid = 'pid' in pidState ? pidState.pid : undefined;
  if (pidState.state !== 'running' || !processName) return {running: pidState.state === 'running', ...(pid ? {pid} : {}), pidState, evidence};
  const argv = processCmdline(pidState.pid);
  if (!argv.length) return {running: true, pid: pidState.pid, pidState, evidence: [...evidence, `/proc/${pidState.pid}/cmdline: unreadable`]};
  evidence.push(`/proc/${pidState.pid}/cmdline: ${brief(argv)}`);
  if (isQemuNamed(argv, processName)) return {running: true, pid: pidState.pid, pidState, evidence};
  evidence.push(`pid ${pidState.pid} is not a QEMU started as process=${processName}: the pid file is a leftover`);
  return {running: false, pid: pidState.pid, pidState: {state: 'stale', pid: pidState.pid}, evidence};
}

const mountNs = (proc: string, pid: string) => {
  try {
    return readlinkSync(join(proc, pid, 'ns', 'mnt'));
  } catch {
    return undefined;
  }
};

/**
 * QEMUs whose command line names `name` anywhere, as chutes-cvm finds a running chutes-td (pgrep -f
 * 'qemu-system|qemu-kvm', then "chutes-td" in /proc/PID/cmdline). Only processes in this process's
 * mount namespace are counted: one in another namespace (a container, another test's private /tmp)
 * has another /tmp and pid file. chutes-cvm itself still refuses those.
 */
export function qemusNamed(name: string, proc = '/proc'): Array<{pid: number; argv: string[]}> {
  const own = mountNs(proc, 'self');
  const found: Array<{pid: number; argv: string[]}> = [];
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return found;
  }
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(join(proc, pid, 'cmdline'), 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const line = argv.join(' ');
    if (!/qemu-system|qemu-kvm/.test(line) || !line.includes(name)) continue;
    // A namespace that cannot be read (another user's process, for a wizard not run as root) counts.
    const ns = own ? mountNs(proc, pid) : undefined;
    if (ns && ns !== own) continue;
    found.push({pid: Number(pid), argv});
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the launcher's stop command, then waits (up to 15 s) until the pid file is gone and the
 * process it named has ended. run-td deletes the pid file 3 s after its SIGTERM whether QEMU has
 * gone or not, so the process itself is watched too.
 */
export async function stopAndConfirm(runner: Runner, inv: Invocation, probe: () => VmProbe, signal?: AbortSignal) {
  const before = probe();
  const result = await runner.run({cmd: inv.cmd, args: inv.args, ...(inv.cwd ? {cwd: inv.cwd} : {}), ...(inv.env ? {env: inv.env} : {}), secrets: inv.secrets, title: inv.title, timeoutMs: 60_000}, {signal});
  if (runner.dryRun) return {result, after: before};
  const beforeArgv = before.running && before.pid ? processCmdline(before.pid).join('\0') : '';
  const lingering = () => Boolean(before.running && before.pid && processAlive(before.pid) && processCmdline(before.pid).join('\0') === beforeArgv);
  let after = probe();
  for (const end = Date.now() + 15_000; (after.running || lingering()) && Date.now() < end; after = probe()) await sleep(200);
  if (!after.running && lingering()) {
    after = {...after, running: true, pid: before.pid!, evidence: [...after.evidence, `pid ${before.pid} still runs although its pid file is gone`]};
  }
  if (after.running) {
    throw new StepError(`the VM (pid ${after.pid}) still runs after ${[inv.cmd, ...inv.args].join(' ')}`, 'stop', result.tail, `run as root: sudo tdx-wizard stop (or kill ${after.pid}); tdx-wizard status shows what is left`);
  }
  return {result, after};
}
