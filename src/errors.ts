// The three ways a command can end badly, each with its own exit code.

/** Bad input: nothing was touched. Exit code 2. `fix` says how to put it right. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly fix?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A step failed while doing its work. Exit code 1. */
export class StepError extends Error {
  readonly exitCode = 1;
  constructor(message: string, readonly step?: string, readonly output: string[] = [], readonly fix?: string) {
    super(message);
    this.name = 'StepError';
  }
}

/** The operator (or a signal) cancelled. Exit code 130. */
export class Cancelled extends Error {
  readonly exitCode = 130;
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'Cancelled';
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof StepError || error instanceof Cancelled) return error.exitCode;
  return 1;
}
