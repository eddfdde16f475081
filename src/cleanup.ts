// One registry of things that must be undone however the program ends: normal exit, an error,
// Ctrl-C (SIGINT), SIGTERM or SIGHUP. Cleanups run last-registered first, each at most once.

type Cleanup = () => void | Promise<void>;

interface Entry {
  name: string;
  fn: Cleanup;
}

const entries: Entry[] = [];
const rootController = new AbortController();
let running: Promise<void> | undefined;
let installed = false;

/** Aborted when the process is asked to stop: every running command listens to it. */
export const rootSignal: AbortSignal = rootController.signal;

export function registerCleanup(name: string, fn: Cleanup): () => void {
  const entry = {name, fn};
  entries.push(entry);
  return () => {
    const i = entries.indexOf(entry);
    if (i >= 0) entries.splice(i, 1);
  };
}

export function pendingCleanups(): string[] {
  return entries.map((e) => e.name);
}

/**
 * Work that must never be interrupted (resize2fs, e2fsck: stopped half-way they leave a damaged
 * filesystem). While one is held, a stop does not signal it: the cleanups (a detach) and the exit
 * wait until it has ended.
 */
export interface Unstoppable {
  /** What runs, in words, with how far it is ("resize2fs: growing the filesystem, 42 %, 12 s"). */
  describe(): string;
  done: Promise<unknown>;
}

const unstoppables = new Set<Unstoppable>();

export function holdStop(work: Unstoppable): void {
  unstoppables.add(work);
  void work.done.finally(() => unstoppables.delete(work)).catch(() => {});
}

/** What runs now that a stop must wait for, in words (empty when nothing). */
export function unstoppableWork(): string[] {
  return [...unstoppables].map((w) => w.describe());
}

/** The notice a stop prints while it waits. */
export function waitNotice(): string | undefined {
  const what = unstoppableWork();
  if (!what.length) return undefined;
  return `${what.join('; ')}: it must not be interrupted (stopped half-way it damages the filesystem); the stop waits for it and stops right after it ends`;
}

async function waitForUnstoppables(): Promise<void> {
  while (unstoppables.size) await Promise.allSettled([...unstoppables].map((w) => w.done));
}

/** Runs every registered cleanup (LIFO). Errors are reported through `onError`, never thrown. */
export function runCleanups(onError: (name: string, error: unknown) => void = defaultOnError): Promise<void> {
  running ??= (async () => {
    // A detach under a running resize2fs would tear its device away: the cleanups come after it.
    await waitForUnstoppables();
    while (entries.length) {
      const entry = entries.pop()!;
      try {
        await entry.fn();
      } catch (error) {
        onError(entry.name, error);
      }
    }
  })().finally(() => {
    running = undefined;
  });
  return running;
}

function defaultOnError(name: string, error: unknown): void {
  process.stderr.write(`cleanup "${name}" failed: ${error instanceof Error ? error.message : String(error)}\n`);
}

const SIGNAL_CODES = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;
export type StopSignal = keyof typeof SIGNAL_CODES;

/**
 * Installs the handlers for SIGINT, SIGTERM and SIGHUP: abort what runs, run the cleanups, exit
 * with 128+n. `onSignal` may take over (the interactive wizard asks before cancelling on SIGINT):
 * it returns true when it handled the signal itself.
 */
export function installSignalHandlers(onSignal?: (signal: StopSignal) => boolean): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNAL_CODES) as StopSignal[]) {
    process.on(signal, () => {
      if (onSignal?.(signal)) return;
      stopNow(signal);
    });
  }
}

/** Abort everything, clean up, and exit with the signal's code. */
export function stopNow(signal: StopSignal): void {
  if (!rootController.signal.aborted) rootController.abort(new Error(`received ${signal}`));
  const notice = waitNotice();
  if (notice) process.stderr.write(`${signal}: ${notice}\n`);
  // Let the aborted commands settle (their SIGTERM/SIGKILL) before cleanups detach devices.
  setTimeout(() => {
    void runCleanups().finally(() => process.exit(SIGNAL_CODES[signal]));
  }, 50);
}

export function abortAll(reason = 'cancelled'): void {
  if (!rootController.signal.aborted) rootController.abort(new Error(reason));
}
