// The upstream launcher (run-tdx.sh): where it is, the argv built from the launch fields, and the
// VM's state read from the pid file and /proc. The launcher's own --status cannot be trusted: the
// pid file is root's and 0600, so for anyone else it reports a running VM as stopped (§1.1).
import {accessSync, constants, readdirSync, readFileSync, statSync} from 'node:fs';
import {resolve} from 'node:path';
import {StepError, UsageError} from '../errors.js';
import {pidFile, serialLog} from '../paths.js';
import type {Runner, RunResult} from '../runner/runner.js';
import type {VolumeVerdict} from '../volume/verdict.js';
import type {LaunchFields} from './fields.js';
import {lastMarker, matchHint, type HintMatch, type MarkerState} from './hints.js';
import {LogTail} from './tail.js';

export const LAUNCHER_NAME = 'run-tdx.sh';

export const SEED_EXPOSURE_NOTE =
  'The upstream launcher exposes the miner seed: it puts it on its own command line, which every user of this host can see in ps while it runs, ' +
  'and writes it in clear to /tmp/generated-user-data.yaml and /tmp/tdx-cidata.iso until QEMU has started (tdx-wizard stop removes them too). ' +
  'The wizard itself never shows, logs or stores the seed.';

/**
 * The launcher given, else the one remembered (src/vm/launcher-path.ts reads the settings), else
 * ./run-tdx.sh; it must be an executable file.
 */
export function resolveLauncher(given: string | undefined, cwd = process.cwd(), remembered?: string): string {
  const path = resolve(cwd, given ?? remembered ?? LAUNCHER_NAME);
  const fix = 'pass --launcher /path/to/run-tdx.sh (the launch.sh of chutesai/sek8s, November 2025)';
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`no launcher at ${path}${given ? '' : remembered ? ' (remembered from an earlier launch)' : ''}`, fix);
  }
  if (!st.isFile()) throw new UsageError(`the launcher ${path} is not a file`, fix);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UsageError(`the launcher ${path} is not executable`, `chmod +x ${path}`);
  }
  return path;
}

export function launcherArgs(f: LaunchFields): string[] {
  const args: string[] = ['--network-type', f.networkType];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') args.push(flag, String(value));
  };
  if (f.networkType !== 'user') add('--net-iface', f.netIface);
  add('--vm-ip', f.vmIp);
  add('--vm-gateway', f.vmGateway);
  add('--vm-dns', f.vmDns);
  add('--ssh-port', f.sshPort);
  add('--hostname', f.hostname);
  add('--miner-ss58', f.minerSs58);
  add('--miner-seed', f.minerSeed);
  add('--cache-volume', f.cacheVolume);
  add('--image', f.image);
  add('--vcpus', f.vcpus);
  add('--mem', f.mem);
  return [...args, ...f.extra];
}

export type PidState =
  | {state: 'absent'}
  | {state: 'unreadable'; error: string}
  | {state: 'stale'; pid?: number}
  | {state: 'running'; pid: number};

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, someone else's
  }
  // In a container whose init does not reap, an ended QEMU lingers as a zombie: that is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export function readPidFile(path = pidFile()): PidState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return {state: 'absent'};
    // QEMU's pid file is root's and 0600, but its command line, naming the file, is public.
    const pid = e.code === 'EACCES' ? findByPidFileArg(path) : undefined;
    return pid ? {state: 'running', pid} : {state: 'unreadable', error: e.code === 'EACCES' ? 'permission denied (the pid file is root\'s)' : e.message};
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return {state: 'stale'};
  return processAlive(pid) ? {state: 'running', pid} : {state: 'stale', pid};
}

/** The live process started with `-pidfile PATH` (QEMU as the launcher runs it), if any. */
export function findByPidFileArg(path: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('-pidfile');
      if (i >= 0 && argv[i + 1] === path && processAlive(Number(name))) return Number(name);
    } catch {
      /* ended meanwhile, or hidden */
    }
  }
  return undefined;
}

/** Seconds since the process started: /proc/PID/stat against /proc/uptime, else the pid file's age. */
export function uptimeOf(pid: number, pidPath = pidFile()): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // field 3 onwards: comm may hold spaces
    const startTicks = Number(fields[19]); // field 22, starttime, in USER_HZ (100 on Linux)
    const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (Number.isFinite(startTicks) && Number.isFinite(up)) return Math.max(0, Math.round(up - startTicks / 100));
  } catch {
    /* fall back to the pid file */
  }
  try {
    return Math.max(0, Math.round((Date.now() - statSync(pidPath).mtimeMs) / 1000));
  } catch {
    return undefined;
  }
}

export interface VmStatus {
  running: boolean;
  pidFile: string;
  pid?: number;
  pidState: PidState;
  uptimeSeconds?: number;
  serialLog: string;
  logExists: boolean;
  /** The last lines of the serial log, for display. */
  lastLines: string[];
  markers: MarkerState;
}

export async function vmStatus(lines = 10, paths = {pidFile: pidFile(), serialLog: serialLog()}): Promise<VmStatus> {
  const pidState = readPidFile(paths.pidFile);
  const pid = 'pid' in pidState ? pidState.pid : undefined;
  const tail = new LogTail(paths.serialLog, {initialBytes: 256 * 1024, ringSize: 4000});
  let logExists = true;
  tail.on('waiting', () => (logExists = false));
  await tail.catchUp(true);
  await tail.stop();
  const recent = tail.recent();
  return {
    running: pidState.state === 'running',
    pidFile: paths.pidFile,
    ...(pid !== undefined ? {pid} : {}),
    pidState,
    ...(pidState.state === 'running' ? {uptimeSeconds: uptimeOf(pidState.pid, paths.pidFile)} : {}),
    serialLog: paths.serialLog,
    logExists,
    lastLines: recent.slice(-lines).map((l) => l.text),
    markers: lastMarker(recent.map((l) => l.raw)),
  };
}

export interface LaunchRequest {
  launcher: string;
  fields: LaunchFields;
  /** The cache volume check (src/volume/verify.ts); given as a parameter so tests can fake it. */
  verify: (path: string) => Promise<VolumeVerdict>;
  onHint?: (match: HintMatch) => void;
  signal?: AbortSignal;
}

/** Refuses what would fail or harm, then runs the launcher. */
export async function launchVm(runner: Runner, req: LaunchRequest): Promise<{result: RunResult; pid?: number; verdict: VolumeVerdict}> {
  const {fields} = req;
  if (fields.minerSeed) runner.addSecret(fields.minerSeed); // before anything is recorded
  const pidState = readPidFile();
  if (pidState.state === 'running') {
    throw new UsageError(`a VM is already running (pid ${pidState.pid}, pid file ${pidFile()})`, 'tdx-wizard status; tdx-wizard stop, then launch again');
  }
  if (pidState.state === 'unreadable') {
    throw new UsageError(`the pid file ${pidFile()} exists but cannot be read (${pidState.error}): a VM is probably running`, 'run as root: sudo tdx-wizard status');
  }
  const verdict = await req.verify(fields.cacheVolume);
  if (!verdict.accepted) {
    throw new UsageError(`the guest would reject ${fields.cacheVolume} and power itself off: ${verdict.reason}`, verdict.fix ?? `tdx-wizard inspect ${fields.cacheVolume}`);
  }
  let lastHint: HintMatch | undefined;
  let runId: number | undefined;
  const unsubscribe = runner.subscribe((event) => {
    if (event.type === 'start' && runId === undefined) runId = event.run.id;
    if (event.type !== 'line' || event.run.id !== runId) return;
    const match = matchHint(event.text, ['launcher', 'tool']);
    if (!match) return;
    if (match.hint.severity === 'error') lastHint = match;
    req.onHint?.(match);
  });
  try {
    const timeoutMs = launchTimeoutMs();
    const result = await runner.run(
      // A group of its own: if it hangs and is stopped, its children (a QEMU that never daemonised) go too.
      {cmd: req.launcher, args: launcherArgs(fields), title: 'Launch the TDX VM', secrets: fields.minerSeed ? [fields.minerSeed] : [], timeoutMs, processGroup: true},
      {signal: req.signal},
    ).catch((error: unknown) => {
      if (error instanceof StepError && / no answer after /.test(error.message)) {
        throw new StepError(
          `${req.launcher} did not return within ${timeoutMs / 1000} s and was stopped (with everything it had started)`,
          error.step,
          error.output,
          `its last lines are above; tdx-wizard status shows whether a VM came up. A slow host may need more time: TDX_WIZARD_LAUNCH_TIMEOUT=SECONDS`,
        );
      }
      throw error;
    });
    const after = runner.dryRun ? undefined : readPidFile();
    return {result, verdict, ...(after?.state === 'running' ? {pid: after.pid} : {})};
  } catch (error) {
    if (error instanceof StepError && lastHint) {
      throw new StepError(`${error.message}: ${lastHint.hint.title}`, error.step, error.output, lastHint.hint.action || error.fix);
    }
    if (error instanceof StepError && !error.fix) {
      // The launcher died without a line the catalogue knows: still say where to look.
      const killed = / ended by (SIG\w+)/.exec(error.message)?.[1];
      throw new StepError(
        killed ? `${error.message}: the launcher was killed` : error.message,
        error.step,
        error.output,
        killed === 'SIGKILL'
          ? 'something killed it with SIGKILL (the out-of-memory killer? dmesg | tail); tdx-wizard status shows whether a VM is left'
          : `the lines above are the launcher's own output; tdx-wizard check shows what the host lacks, and ${req.launcher} --help its options`,
      );
    }
    throw error;
  } finally {
    unsubscribe();
  }
}

/** How long the launcher may take to start the VM (it returns once QEMU has daemonised). */
export function launchTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.TDX_WIZARD_LAUNCH_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 15 * 60_000;
}

/** Stops the VM with the launcher's --clean (SIGTERM to QEMU, then SIGKILL; it also removes the launcher's temp files). */
export async function stopVm(runner: Runner, launcher: string, signal?: AbortSignal): Promise<RunResult> {
  return runner.run({cmd: launcher, args: ['--clean'], title: 'Stop the TDX VM (launcher --clean)', timeoutMs: 60_000}, {signal});
}

/** The seed from a file; a file others can read is worth a warning, not a refusal. */
export function readSeedFile(path: string): {seed: string; warning?: string} {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UsageError(`the miner seed file ${abs} does not exist`, 'give the file that holds the 64 hex characters of the seed');
  }
  if (!st.isFile()) throw new UsageError(`the miner seed file ${abs} is not a regular file`, 'give the file that holds the seed');
  const seed = readFileSync(abs, 'utf8').trim();
  const mode = st.mode & 0o777;
  const warning = mode & 0o077 ? `the miner seed file ${abs} can be read by ${mode & 0o007 ? 'every user' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')})` : undefined;
  return warning ? {seed, warning} : {seed};
}
