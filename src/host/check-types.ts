// The shape of one host check, shared by the check modules and the `check` command.
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
}

export function check(id: string, title: string, status: CheckStatus, summary: string, evidence: Evidence[], fix?: string, autoFix?: boolean): Check {
  return {id, title, status, summary, evidence, ...(fix ? {fix, autoFix: Boolean(autoFix)} : {})};
}
