// The three ways a command can end badly, each with its own exit code.

/** Bad input: nothing was touched. Exit code 2. `fix` says how to put it right. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly fix?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * The exit code of "this image is in use by another process", the same for every command (write
 * commands refuse it, inspect and verify report it): nothing was changed, so it is the code of a
 * refusal before anything was touched.
 */
export const IN_USE_EXIT = 2;

/** An image another process holds (a running VM, a connected qemu-nbd): refused, nothing touched. Exit code IN_USE_EXIT. */
export class InUseError extends UsageError {
  override readonly exitCode = IN_USE_EXIT;
  constructor(message: string, fix?: string) {
    super(message, fix);
    this.name = 'InUseError';
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
