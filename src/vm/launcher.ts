// The upstream launcher (run-tdx.sh): where it is, the argv built from the launch fields, and the
// VM's state read from the pid file and /proc. The launcher's own --status cannot be trusted: the
// pid file is root's and 0600, so for anyone else it reports a running VM as stopped (§1.1).
import {accessSync, closeSync, constants, openSync, readSync, statSync} from 'node:fs';
import {resolve} from 'node:path';
import {StepError, UsageError} from '../errors.js';
import {pidFile, serialLog} from '../paths.js';
import type {Runner, RunResult} from '../runner/runner.js';
import type {VolumeVerdict} from '../volume/verdict.js';
import {ERAS, type Era} from '../era/eras.js';
import {hostRoots} from '../host/roots.js';
import {adapterFor, type Invocation, type VmProbe} from './adapters/index.js';
import type {LaunchFields} from './fields.js';
import {lastMarker, matchHint, type HintMatch, type MarkerState} from './hints.js';
import {judgeLaunch, type LaunchJudgement} from './launch-outcome.js';
import {serialLinesSince, stampSerial} from './serial-since.js';
import {defaultLauncherPath} from './launcher-file.js';
import {readPidFile, untrustedText, uptimeOf, type PidState} from './pid.js';
import {refuseOtherOwners} from '../inventory/manifest.js';
import {LogTail} from './tail.js';

export {LAUNCHER_NAME} from './launcher-file.js';

export {SEED_EXPOSURE_NOTE} from './adapters/run-tdx.js';
export {launcherArgs} from './launcher-args.js';
export {findByPidFileArg, processAlive, readPidFile, uptimeOf, type PidState} from './pid.js';

/**
 * The launcher given, else the one remembered (src/vm/launcher-path.ts reads the settings), else
 * the first of ./run-tdx.sh, ./run-td, ./host-tools/scripts/run-td, … that exists, else (for an
 * era whose launcher is installed, `era`: chutes-cvm) the program on PATH; it must be an executable file.
 */
export function resolveLauncher(given: string | undefined, cwd = process.cwd(), remembered?: string, era?: Era): string {
  const path = given ?? remembered ? resolve(cwd, (given ?? remembered)!) : defaultLauncherPath(cwd, era);
  const fix = 'pass --launcher with the upstream launcher: chutes-cvm (installed from rayonlabs/sek8s, newest), host-tools/scripts/run-td (December 2025 on) or run-tdx.sh (the launch.sh of chutesai/sek8s, November 2025)';
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`no launcher at ${path}${given ? '' : remembered ? ' (remembered from an earlier launch)' : era?.launcherOnPath ? ` (nor ${era.launcherFile} on PATH)` : ''}`, fix);
  }
  if (!st.isFile()) throw new UsageError(`the launcher ${path} is not a file`, fix);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UsageError(`the launcher ${path} is not executable`, `chmod +x ${path}`);
  }
  return path;
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
  /** What the era's adapter read to decide (the pid file, the process's command line). */
  evidence: string[];
}

/** `probe`: the era's own reading of the pid file and /proc (adapterFor(era).status()), when the era is known. */
export async function vmStatus(lines = 10, paths = {pidFile: pidFile(), serialLog: serialLog()}, probe?: VmProbe): Promise<VmStatus> {
  const pidState = probe?.pidState ?? readPidFile(paths.pidFile);
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
    evidence: probe?.evidence ?? [],
  };
}

export interface LaunchRequest {
  launcher: string;
  fields: LaunchFields;
  /** The era of the launcher and its guest; run-tdx.sh's (E1) when not given. */
  era?: Era;
  /** The cache volume check of E1 (src/volume/verify.ts); given as a parameter so tests can fake it. */
  verify: (path: string) => Promise<VolumeVerdict>;
  onHint?: (match: HintMatch) => void;
  signal?: AbortSignal;
}

export interface LaunchOutcome {
  result: RunResult;
  pid?: number;
  /** E1's cache volume verdict (later eras check the whole set and have none). */
  verdict?: VolumeVerdict;
  invocation: Invocation;
  /** How the launch was judged (started, or starting: QEMU runs and the serial log is still empty). */
  judged?: LaunchJudgement;
}

const E1 = ERAS.find((e) => e.launcher === 'run-tdx')!;

/** Refuses what would fail or harm, then runs the era's launcher through its adapter. */
export async function launchVm(runner: Runner, req: LaunchRequest): Promise<LaunchOutcome> {
  const {fields} = req;
  const era = req.era ?? E1;
  const adapter = adapterFor(era);
  if (fields.minerSeed) runner.addSecret(fields.minerSeed); // before anything is recorded
  // Every launcher first stops what the pid file names (run-td without a word): never over a running VM.
  const pidState = readPidFile();
  if (pidState.state === 'running') {
    throw new UsageError(`a VM is already running (pid ${pidState.pid}, pid file ${pidFile()})`, 'tdx-wizard status; tdx-wizard stop, then launch again');
  }
  if (pidState.state === 'untrusted') throw untrustedPidFile(pidState);
  if (pidState.state === 'unreadable') {
    throw new UsageError(`the pid file ${pidFile()} exists but cannot be read (${pidState.error}): a VM is probably running`, 'run as root: sudo tdx-wizard status');
  }
  // One volume, one VM: a volume from another VM's folder of the layout is refused (its manifest says whose).
  refuseOtherOwners(volumePaths(fields), fields.hostname);
  const sysRoot = process.env.TDX_WIZARD_SYS_ROOT || '/sys';
  // The volumes first: read in-process, so a refused set runs nothing; then the host (python3 is asked).
  const checked = await adapter.checkVolumes(fields, era, {verify: req.verify, sysRoot});
  refuseAll(checked.problems, `the ${era.id} VM would not start with these volumes, or its guest would not accept them and would power itself off`);
  refuseAll(await adapter.preflight(req.launcher, fields, era, {runner, roots: hostRoots(), signal: req.signal}), 'the host is not ready for this launcher');
  const invocation = adapter.buildInvocation(req.launcher, fields, era);
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
  // The serial log as it was: what QEMU writes from now on is this launch's.
  const serial = stampSerial(serialLog());
  try {
    const timeoutMs = launchTimeoutMs();
    const result = await runner.run(
      // A group of its own: if it hangs and is stopped, its children (a QEMU that never daemonised) go too.
      {cmd: invocation.cmd, args: invocation.args, ...(invocation.cwd ? {cwd: invocation.cwd} : {}), ...(invocation.env ? {env: invocation.env} : {}), title: invocation.title, secrets: invocation.secrets, timeoutMs, processGroup: true},
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
    const after = runner.dryRun ? undefined : adapter.confirmLaunch(result, req.launcher, serialLinesSince(serial));
    return {result, invocation, ...(checked.verdict ? {verdict: checked.verdict} : {}), ...(after?.running && after.pid ? {pid: after.pid} : {}), ...(after?.judged ? {judged: after.judged} : {})};
  } catch (error) {
    // A launcher that exited non-zero (chutes-cvm returns QEMU's code): QEMU's own line, when the
    // catalogue knows it, says more than the launcher's summary of it.
    const judged = error instanceof StepError && error.step !== 'launch' ? judgeLaunch({launcherLines: error.output, pidAlive: false, serialLines: serialLinesSince(serial)}) : undefined;
    const hint = judged?.state === 'qemu-refused' && judged.hint && !judged.hint.hint.generic ? judged.hint : lastHint;
    if (error instanceof StepError && hint) {
      throw new StepError(`${error.message}: ${hint.hint.title}`, error.step, error.output, hint.hint.action || error.fix);
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

/** One refusal as it is; several as a list under `summary`. Exit 2: nothing was run. */
function refuseAll(problems: Array<{text: string; fix?: string}>, summary: string): void {
  if (!problems.length) return;
  if (problems.length === 1) throw new UsageError(problems[0]!.text, problems[0]!.fix);
  throw new UsageError(`${summary}:\n${problems.map((p) => `  - ${p.text}${p.fix ? ` (fix: ${p.fix})` : ''}`).join('\n')}`, 'fix each line as it says, then launch again');
}

/** How long the launcher may take to start the VM (it returns once QEMU has daemonised). */
export function launchTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.TDX_WIZARD_LAUNCH_TIMEOUT;
  if (value === undefined || value === '') return 15 * 60_000;
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0) throw new UsageError(`TDX_WIZARD_LAUNCH_TIMEOUT is "${value}", not a number of seconds`, 'set it to whole seconds (e.g. 1800), or unset it for the default 900');
  return Number(value) * 1000;
}

/**
 * Stops the VM the era's way (run-tdx.sh/run-vm.sh --clean, run-td --clean from its directory), then
 * confirms from the pid file and /proc that it is gone.
 */
export async function stopVm(runner: Runner, launcher: string, signal?: AbortSignal, era: Era = E1): Promise<{result: RunResult; after: VmProbe}> {
  return adapterFor(era).stop(runner, launcher, signal);
}

/** The seed from a file; a file others can read is worth a warning, not a refusal. */
/** A seed file holds 64 hex characters, perhaps 0x and a newline or two: anything past this is not one. */
export const SEED_FILE_MAX = 4096;

/** At most `limit` bytes of a file or an open descriptor (stdin): a multi-gigabyte file is never read whole. */
export function readAtMost(file: string | number, limit: number): string {
  const fd = typeof file === 'number' ? file : openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0 || (length += n) > limit) break;
    }
    if (length > limit) throw new UsageError(`more than ${limit} bytes were given where a seed (64 hex characters) was expected`, 'give only the seed: 64 hex characters and a newline');
    return buffer.toString('utf8', 0, length);
  } finally {
    if (typeof file !== 'number') closeSync(fd);
  }
}

export function readSeedFile(path: string): {seed: string; warning?: string} {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new UsageError(`the miner seed file ${abs} does not exist`, 'give the file that holds the 64 hex characters of the seed');
  }
  if (!st.isFile()) throw new UsageError(`the miner seed file ${abs} is not a regular file`, 'give the file that holds the seed');
  if (st.size > SEED_FILE_MAX) throw new UsageError(`the miner seed file ${abs} is ${st.size} bytes long; a seed is 64 hex characters`, 'give the file that holds only the seed (64 hex characters and a newline)');
  const seed = readAtMost(abs, SEED_FILE_MAX).trim();
  const mode = st.mode & 0o777;
  const warning = mode & 0o077 ? `the miner seed file ${abs} can be read by ${mode & 0o007 ? 'every user' : 'its group'} (mode ${mode.toString(8).padStart(4, '0')})` : undefined;
  return warning ? {seed, warning} : {seed};
}

/** A launcher (or its stop) first kills what the pid file names: never a process it does not own. */
export function untrustedPidFile(state: Extract<PidState, {state: 'untrusted'}>): UsageError {
  const kills = state.pid ? `, and the launcher would stop pid ${state.pid} first` : '';
  return new UsageError(`${untrustedText(state)}${kills}`, `rm ${pidFile()} (if no VM of yours runs), and find out who wrote it`);
}

/** Every volume file the launch passes (E1's cache volume, the set of the later eras). */
export function volumePaths(fields: LaunchFields): string[] {
  return [...new Set([fields.cacheVolume, ...Object.values(fields.volumes ?? {})].filter((p): p is string => Boolean(p)))];
}
