// How every adapter judges a launch once its launcher has returned: the pid file and /proc say
// whether a VM runs, and judgeLaunch (src/vm/launch-outcome.ts) weighs that with what the launcher
// printed and the first serial lines written since this launch. Launchers up to February 2026 exit
// 0 even when QEMU failed, so a launch counts only when the judgement says a VM started.
import {basename} from 'node:path';
import {StepError} from '../../errors.js';
import type {RunResult} from '../../runner/runner.js';
import {judgeLaunch} from '../launch-outcome.js';
import type {VmProbe} from './types.js';

export interface ConfirmOptions {
  /**
   * A guest that began to boot and has already powered itself off counts as launched: its serial
   * log says why, and `tdx-wizard logs` shows it with its hint (run-tdx.sh's guests check their
   * cache volume within a second of starting, and the wizard has always reported them that way).
   */
  stoppedIsLaunched?: boolean;
}

export function confirmStarted(probe: VmProbe, result: RunResult, launcher: string, serialLines: readonly string[], options: ConfirmOptions = {}): VmProbe {
  const judged = judgeLaunch({launcherLines: result.tail, pidAlive: probe.running, serialLines});
  const withJudgement = {...probe, judged};
  if (probe.running) return withJudgement;
  if (judged.state === 'stopped' && options.stoppedIsLaunched) return withJudgement;
  throw new StepError(
    `${basename(launcher)} ended (exit ${result.exitCode}) but no VM is running: ${probe.evidence.join('; ')}; ${judged.reason}`,
    'launch',
    result.tail,
    judged.hint?.hint.action || `the lines above are the launcher's and QEMU's own output (${basename(launcher)} exits 0 even when QEMU fails); tdx-wizard check shows what the host lacks`,
  );
}
