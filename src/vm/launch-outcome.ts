// Whether a launch started a VM, for launchers whose exit code says nothing: run-vm.sh, run-td up
// to February 2026 and quick-launch.sh exit 0 even when QEMU refused to start (upstream-eras.md
// §2.2 to §2.4). The judgement comes from what the launcher printed (QEMU's own errors are among
// its lines), the pid file QEMU writes once it has daemonised, and the first lines of the serial
// log, never from the exit code.
import stripAnsi from 'strip-ansi';
import {lastMarker, matchHint, type HintMatch} from './hints.js';

export interface LaunchEvidence {
  /** The launcher's output lines, both streams, in order. */
  launcherLines: readonly string[];
  /** The pid file names a live process, read after the launcher returned. */
  pidAlive: boolean;
  /**
   * The first lines of the serial log written since this launch. QEMU truncates the log when it
   * starts, so after a QEMU that refused to start the file still holds the previous boot: pass
   * nothing unless the log is known to be newer than the launch.
   */
  serialLines: readonly string[];
}

export type LaunchState =
  /** QEMU runs and the guest has begun to write its serial log. */
  | 'started'
  /** QEMU runs, the serial log is still empty (the firmware prints nothing for a while): look again. */
  | 'starting'
  /** QEMU printed an error and no VM runs. */
  | 'qemu-refused'
  /** The launcher stopped before QEMU (its options, a missing image, a VM already running). */
  | 'launcher-refused'
  /** The guest began to boot and has already stopped: the serial log says why. */
  | 'stopped'
  /** No VM runs and nothing printed says why. */
  | 'unknown';

export interface LaunchJudgement {
  ok: boolean;
  state: LaunchState;
  reason: string;
  /** The catalogue's explanation of the telling line, when it knows it. */
  hint?: HintMatch;
}

const clean = (line: string) => stripAnsi(line).replace(/\r/g, '').trim();

/** QEMU's error_report lines start with its program name ("qemu-system-x86_64: -drive …: …"); warnings are not errors. */
const QEMU_ERROR = /^(?:\S*\/)?qemu-(?:system-[\w-]+|kvm)(?:\[\d+\])?: (?!warning:|info:)/;

/** The first line the catalogue calls an error, preferring one that says why over a generic one. */
function firstError(lines: readonly string[]): HintMatch | undefined {
  let generic: HintMatch | undefined;
  for (const line of lines) {
    const m = matchHint(line, ['launcher', 'tool']);
    if (!m || m.hint.severity !== 'error') continue;
    if (!m.hint.generic) return m;
    generic ??= m;
  }
  return generic;
}

/** How the launch went: started, still starting, or why no VM runs. */
export function judgeLaunch(evidence: LaunchEvidence): LaunchJudgement {
  const lines = evidence.launcherLines.map(clean).filter(Boolean);
  const begun = evidence.serialLines.some((l) => clean(l) !== '');
  if (evidence.pidAlive) {
    return begun
      ? {ok: true, state: 'started', reason: 'started: QEMU runs and the serial log has begun'}
      : {ok: false, state: 'starting', reason: 'QEMU runs; the serial log has not begun yet'};
  }
  const qemuLine = lines.find((l) => QEMU_ERROR.test(l));
  if (qemuLine) {
    const hint = matchHint(qemuLine, ['launcher', 'tool']);
    return {ok: false, state: 'qemu-refused', reason: `QEMU refused to start: ${qemuLine}`, ...(hint ? {hint} : {})};
  }
  const error = firstError(lines);
  if (error?.hint.id === 'cvm-qemu-failed') {
    // chutes-cvm's own report of QEMU's exit code, QEMU's line having gone elsewhere.
    return {ok: false, state: 'qemu-refused', reason: `QEMU refused to start: ${error.line}`, hint: error};
  }
  if (error) return {ok: false, state: 'launcher-refused', reason: `the launcher refused: ${error.line}`, hint: error};
  if (begun) {
    const {cause} = lastMarker(evidence.serialLines);
    return cause
      ? {ok: false, state: 'stopped', reason: `the VM started and has stopped: ${cause.hint.title} (${cause.line})`, hint: cause}
      : {ok: false, state: 'stopped', reason: 'the VM started and has stopped; its serial log does not say why'};
  }
  return {ok: false, state: 'unknown', reason: 'no VM runs, and neither the launcher nor QEMU said why'};
}
