// The shape of one host check, shared by the check modules and the `check` command.
import {shellLine} from '../runner/mask.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Evidence {
  /** The command run or the file read. */
  source: string;
  /** What it said. */
  said: string;
}

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  /** The finding in one line. */
  summary: string;
  evidence: Evidence[];
  /** The exact command that fixes it. */
  fix?: string;
  /** Safe for the wizard to run the fix for the operator (after asking). */
  autoFix?: boolean;
  /** The fix as an argv, for the runner, when the wizard may run it. */
  fixArgv?: string[];
}

/** `fix` as a string is advice; as an argv it is a command the wizard can run for the operator. */
export function check(id: string, title: string, status: CheckStatus, summary: string, evidence: Evidence[], fix?: string | string[]): Check {
  if (fix === undefined) return {id, title, status, summary, evidence};
  if (typeof fix === 'string') return {id, title, status, summary, evidence, fix, autoFix: false};
  return {id, title, status, summary, evidence, fix: shellLine(fix), autoFix: true, fixArgv: fix};
}
