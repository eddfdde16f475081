// The pipe a child writes its output into, and the reader on our side.
//
// Node gives a child's stdout/stderr a Unix socket pair, not a pipe. A command that writes a line
// at a time (a shell script, a tool that flushes every line) then pays for a socket buffer per
// write and wakes our event loop for every one: a million lines ran 1.6x slower than to /dev/null
// before we did anything with them. A real pipe (a FIFO, opened and unlinked at once) read by
// polling costs 1.1x: while the child writes, it never has to wake anybody, and each read takes
// everything that came since the last one (up to the 64 KiB a pipe holds).
//
// Polling: every millisecond while output flows, backing off to every POLL_IDLE_MS when the child
// is quiet, so a command that prints nothing for minutes costs a few dozen wake-ups a second.
// The reader ends at end of file: when every process holding the write end has closed it (the
// same rule as Node's own pipes: a daemon that kept its stdout keeps the run open).
import {closeSync, constants, lstatSync, mkdtempSync, openSync, readdirSync, readSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {registerCleanup} from '../cleanup.js';
import {pidAlive} from '../volume/scratch.js';

const POLL_IDLE_MS = 25;
const PIPE_PREFIX = 'tdxw-pipe-';
/** A FIFO directory lives for the few milliseconds of one mkfifo: one older than this is a leftover. */
const LEFTOVER_AGE_MS = 60_000;
const reclaimed = new Set<string>();

/**
 * Removes, once per process and directory, the FIFO directories that runs killed with SIGKILL left
 * (no cleanup could run): this user's directories whose run is dead, or that are older than any
 * run keeps one. Another user's, a live run's, and anything not a directory are left alone.
 */
export function reclaimPipeDirs(base: string): void {
  if (reclaimed.has(base)) return;
  reclaimed.add(base);
  let names: string[];
  try {
    names = readdirSync(base).filter((name) => name.startsWith(PIPE_PREFIX));
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const path = join(base, name);
    try {
      const st = lstatSync(path);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const pid = Number(/^tdxw-pipe-(\d+)-/.exec(name)?.[1]);
      const runDead = Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
      if (runDead || Date.now() - st.mtimeMs > LEFTOVER_AGE_MS) rmSync(path, {recursive: true, force: true});
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}
const buffer = Buffer.allocUnsafe(256 * 1024); // shared: each read is handed on before the next

export interface OutputPipe {
  /** Give this to the child as its stdout or stderr; close it once the child is spawned. */
  writeFd: number;
  readFd: number;
}

/**
 * `count` FIFOs, each opened at both ends and unlinked at once, made with one mkfifo, or undefined
 * where they cannot be made: the caller then uses Node's own pipes.
 */
export async function openOutputPipes(count = 2): Promise<OutputPipe[] | undefined> {
  let removeDir: (() => void) | undefined;
  let unregister: (() => void) | undefined;
  const opened: number[] = [];
  const open = (path: string, flags: number) => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  try {
    reclaimPipeDirs(tmpdir());
    const dir = mkdtempSync(join(tmpdir(), `${PIPE_PREFIX}${process.pid}-`)); // 0700: nobody else can open the FIFOs
    removeDir = () => rmSync(dir, {recursive: true, force: true});
    unregister = registerCleanup('remove the FIFOs being made', removeDir); // a Ctrl-C during mkfifo
    const paths = Array.from({length: count}, (_, i) => join(dir, String(i)));
    // Node has no mkfifo(); this is the runner's own plumbing, not one of the operator's commands.
    // child_process loads here, not with the runner: commands that never spawn start 4-5 ms sooner.
    const {execFile} = await import('node:child_process');
    await new Promise<void>((resolve, reject) => execFile('mkfifo', ['-m', '600', ...paths], (error) => (error ? reject(error) : resolve())));
    // The read end first, non-blocking; then the write end does not block either.
    return paths.map((path) => {
      const readFd = open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      return {readFd, writeFd: open(path, constants.O_WRONLY)};
    });
  } catch {
    for (const fd of opened) closeSync(fd);
    return undefined;
  } finally {
    removeDir?.();
    unregister?.();
  }
}

/**
 * FIFO pairs (stdout, stderr) made ahead, a few commands' worth per mkfifo: a spawn costs 3-5 ms on
 * a small machine, and create runs four commands in a row. The ones in stock are ours alone (opened
 * close-on-exec, no name on disk) until take() hands one out.
 */
export class PipeStock {
  private readonly pairs: [OutputPipe, OutputPipe][] = [];
  private filling?: Promise<boolean>;

  constructor(private readonly batch = 4) {}

  /** Starts making a batch now if there is none in stock: the next take() then waits for nothing. */
  warm(): void {
    if (!this.pairs.length) void this.fill();
  }

  async take(): Promise<[OutputPipe, OutputPipe] | undefined> {
    while (!this.pairs.length) {
      if (!(await this.fill())) return undefined;
    }
    return this.pairs.shift();
  }

  private fill(): Promise<boolean> {
    this.filling ??= openOutputPipes(this.batch * 2).then((pipes) => {
      this.filling = undefined;
      for (let i = 0; pipes && i < pipes.length; i += 2) this.pairs.push([pipes[i]!, pipes[i + 1]!]);
      return Boolean(pipes);
    });
    return this.filling;
  }
}

/**
 * Reads `fd` (non-blocking) until end of file, handing each chunk to `onData` synchronously. The
 * chunk is only valid during the call. `done` resolves at end of file, with the fd closed.
 */
export class PipeReader {
  readonly done: Promise<void>;
  private delay = 1;
  private timer?: NodeJS.Timeout;
  private finish!: () => void;
  private fail!: (error: unknown) => void;

  constructor(
    private readonly fd: number,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
    });
    this.timer = setTimeout(() => this.poll(), 0);
  }

  /** Look now (the child exited): the rest of the output is read without waiting for a tick. */
  nudge(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.delay = 1;
    this.timer = setTimeout(() => this.poll(), 0);
  }

  private poll(): void {
    this.timer = undefined;
    let got = false;
    try {
      // One read takes everything the pipe holds; reading again at once would only get the few
      // bytes written since, in many small chunks. Again only when the buffer came back full.
      for (;;) {
        let n: number;
        try {
          n = readSync(this.fd, buffer, 0, buffer.length, null);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
        if (n === 0) {
          closeSync(this.fd);
          this.finish();
          return;
        }
        got = true;
        this.onData(buffer.subarray(0, n));
        if (n < buffer.length) break;
      }
    } catch (error) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fail(error);
      return;
    }
    this.delay = got ? 1 : Math.min(this.delay * 2, POLL_IDLE_MS);
    this.timer = setTimeout(() => this.poll(), this.delay);
  }
}
