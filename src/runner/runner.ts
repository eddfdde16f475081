// The one place where the wizard runs external programs. Every command:
//   - runs from an argv array (execa, never a shell string);
//   - becomes a record in the store (argv with secrets masked, times, exit code, sanitised lines);
//   - streams raw output to listeners (the transcript keeps it, masked);
//   - can be cancelled (AbortSignal -> SIGTERM, then SIGKILL after a grace period, except for
//     programs that must never be killed hard, such as qemu-nbd);
//   - in dry-run mode is recorded as planned and not run at all.
import {writeFileSync} from 'node:fs';
import {closeSync} from 'node:fs';
import {holdStop, rootSignal} from '../cleanup.js';
import {Cancelled, StepError} from '../errors.js';
import {addRun, newRunRecord, type AppStore, type RunRecord} from '../store.js';
import {LineDiscipline} from './lines.js';
import {maskArgv, maskText, shellLine} from './mask.js';
import {parseProgress, type ProgressKind} from './progress.js';
import {PipeReader, PipeStock} from './pipe.js';
import {withSbin} from './search-path.js';

export interface CommandSpec {
  cmd: string;
  args: readonly string[];
  /** What the command is for, in words. */
  title?: string;
  /** Values to mask in argv, output and transcript (on top of the runner's own secrets). */
  secrets?: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Text to feed on stdin (then closed). Default: stdin is /dev/null, the child never waits for input. */
  input?: string;
  progress?: ProgressKind;
  /** Exit codes that count as success. Default [0]. */
  okExitCodes?: readonly number[];
  /** Throw a StepError when the exit code is not ok. Default true. */
  check?: boolean;
  /** Keep stdout as text in the result (bounded). */
  capture?: boolean;
  timeoutMs?: number;
  /** Never SIGKILL this program (qemu-nbd: data acknowledged but not flushed would be lost). */
  noForceKill?: boolean;
  /**
   * A cleanup command (flush, disconnect): it still runs after Ctrl-C or SIGTERM stopped
   * everything else, and only its own signal cancels it.
   */
  cleanup?: boolean;
  /**
   * Run it in a process group of its own, and when it is cancelled or times out, stop the whole
   * group (SIGTERM, then SIGKILL after the grace period): a shell script's children die with it
   * instead of living on, orphaned. Programs that daemonise (QEMU -daemonize) leave the group first.
   */
  processGroup?: boolean;
  /**
   * Never signal it once started (resize2fs, e2fsck: stopped half-way they damage the
   * filesystem). It runs in a session of its own, so a terminal's Ctrl+C to the foreground process
   * group does not reach it either. A stop (the process's signals, the wizard's cancel) is answered
   * with what runs and how far it is, waits for it to end, and only then stops: the run ends
   * with Cancelled even when the command succeeded. No timeout applies.
   */
  uninterruptible?: boolean;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  /** The last lines of output (both streams), sanitised and masked. */
  tail: string[];
  durationMs: number;
  run: RunRecord;
}

export type RunnerEvent =
  | {type: 'start'; run: RunRecord}
  | {type: 'line'; run: RunRecord; stream: 'out' | 'err'; text: string}
  | {type: 'raw'; run: RunRecord; stream: 'out' | 'err'; text: string}
  | {type: 'progress'; run: RunRecord; fraction: number}
  | {type: 'end'; run: RunRecord};

export type RunnerListener = (event: RunnerEvent) => void;

/** Debian/Ubuntu package for each program the wizard runs, for "not found" messages. */
export const PACKAGE_OF: Record<string, string> = {
  'qemu-img': 'qemu-utils',
  'qemu-nbd': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  'qemu-storage-daemon': 'qemu-system-common',
  'mkfs.ext4': 'e2fsprogs',
  mke2fs: 'e2fsprogs',
  e2label: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
  tune2fs: 'e2fsprogs',
  blkid: 'util-linux',
  losetup: 'util-linux',
  blockdev: 'util-linux',
  fallocate: 'util-linux',
  cryptsetup: 'cryptsetup-bin',
  sfdisk: 'fdisk',
  dd: 'coreutils',
  modprobe: 'kmod',
  fusermount3: 'fuse3',
  'mkfs.xfs': 'xfsprogs',
  xfs_repair: 'xfsprogs',
  xfs_admin: 'xfsprogs',
  tmux: 'tmux',
};

const CAPTURE_LIMIT = 16 * 1024 * 1024;
const TAIL_LINES = 30;
const KILL_GRACE_MS = 3000;
const PROGRESS_MIN_INTERVAL_MS = 100;

export interface RunnerOptions {
  store: AppStore;
  dryRun?: boolean;
  /** Environment given to every child (on top of process.env). */
  env?: Record<string, string>;
}

/**
 * Once the process holds a secret, a core dump of it must not: /proc/self/coredump_filter 0 leaves
 * every memory mapping out of the dump (the heap with the seed in it included), and the children
 * forked from here inherit it. Best effort: where /proc is not writable nothing else changes.
 */
function keepSecretsOutOfCoreDumps(): void {
  try {
    writeFileSync('/proc/self/coredump_filter', '0');
  } catch {
    // not Linux, or /proc read-only: nothing more can be done from inside Node
  }
}

export class Runner {
  readonly store: AppStore;
  readonly dryRun: boolean;
  private readonly listeners = new Set<RunnerListener>();
  private readonly secrets = new Set<string>();
  private readonly baseEnv: Record<string, string>;
  private nextId = 1;
  private active = 0;
  private readonly pipes = new PipeStock();
  /** While set, every command also stops when this signal aborts (the wizard's current action). */
  scopeSignal?: AbortSignal;

  constructor(options: RunnerOptions) {
    this.store = options.store;
    this.dryRun = options.dryRun ?? false;
    // Tools speak English to the parsers; the operator's locale stays for everything else.
    this.baseEnv = {LC_ALL: 'C', LANG: 'C', ...options.env};
  }

  /** Every value given here is masked wherever the runner records or shows text. */
  addSecret(secret: string): void {
    if (!secret) return;
    this.secrets.add(secret);
    keepSecretsOutOfCoreDumps();
  }

  get runningCount(): number {
    return this.active;
  }

  subscribe(listener: RunnerListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  mask(text: string, extra: readonly string[] = []): string {
    return maskText(text, [...this.secrets, ...extra]);
  }

  /**
   * Starts loading execa, which run() loads on first use (30-40 ms on a small machine), and making
   * the first output pipes: a command that will spawn calls this first, so that both overlap its
   * checks' waits on the disk and /proc instead of delaying its first command.
   */
  preload(): void {
    if (this.dryRun) return;
    void import('execa');
    this.pipes.warm();
  }

  /**
   * Records a file operation done in-process (create a placeholder, rename, chmod, remove) as its
   * shell equivalent, and performs it unless this is a dry run.
   */
  async act<T>(title: string, shArgv: readonly string[], fn: () => Promise<T> | T): Promise<T | undefined> {
    const run = newRunRecord(this.nextId++, title, maskArgv(shArgv, [...this.secrets]), 'action', this.dryRun ? 'planned' : 'running');
    addRun(this.store, run);
    this.emit({type: 'start', run});
    if (this.dryRun) {
      this.emit({type: 'end', run});
      return undefined;
    }
    try {
      const value = await fn();
      this.finish(run, 'ok', 0);
      return value;
    } catch (error) {
      run.lines.push({stream: 'err', text: this.mask(error instanceof Error ? error.message : String(error))});
      this.finish(run, 'failed', 1);
      throw error;
    }
  }

  async run(spec: CommandSpec, options: {signal?: AbortSignal} = {}): Promise<RunResult> {
    const secrets = [...this.secrets, ...(spec.secrets ?? [])];
    const argv = maskArgv([spec.cmd, ...spec.args], secrets);
    const title = spec.title ?? shellLine(argv);
    const run = newRunRecord(this.nextId++, title, argv, 'command', this.dryRun ? 'planned' : 'running');
    addRun(this.store, run);
    this.emit({type: 'start', run});
    if (this.dryRun) {
      this.emit({type: 'end', run});
      return {exitCode: 0, stdout: '', tail: [], durationMs: 0, run};
    }

    const signals = (spec.cleanup ? [options.signal] : [rootSignal, this.scopeSignal, options.signal]).filter((s): s is AbortSignal => Boolean(s));
    const signal = AbortSignal.any(signals);
    if (signal.aborted) {
      this.finish(run, 'cancelled');
      throw new Cancelled(`${title}: cancelled before it started`);
    }

    const tail: string[] = [];
    let stdout = '';
    let lastProgressAt = 0;
    const onText = (stream: 'out' | 'err') => {
      const discipline = new LineDiscipline({
        line: (text) => {
          const masked = secrets.length ? maskText(text, secrets) : text;
          run.lines.push({stream, text: masked});
          run.partial = '';
          tail.push(masked);
          if (tail.length > TAIL_LINES) tail.shift();
          this.emit({type: 'line', run, stream, text: masked});
          if (spec.progress) this.progress(run, parseProgress(spec.progress, masked), true);
        },
        partial: (text) => {
          run.partial = secrets.length ? maskText(text, secrets) : text;
          if (!spec.progress) return;
          const now = Date.now();
          if (now - lastProgressAt < PROGRESS_MIN_INTERVAL_MS) return;
          lastProgressAt = now;
          this.progress(run, parseProgress(spec.progress, run.partial), false);
        },
      });
      return discipline;
    };
    const outLines = onText('out');
    const errLines = onText('err');

    const started = Date.now();
    this.active++;
    try {
      // Loaded on first use: commands that never spawn (inspect, verify) start faster without it.
      const {execa} = await import('execa');
      // A real pipe for each stream, read by polling (pipe.ts says why); Node's own where none can be made.
      const pipes = await this.pipes.take();
      let child;
      try {
        child = execa(spec.cmd, [...spec.args], {
          // PATH as it is now, with the sbin directories a normal user's lacks (search-path.ts).
          env: {PATH: withSbin(process.env.PATH), ...this.baseEnv, ...spec.env},
          cwd: spec.cwd,
          ...(spec.input !== undefined ? {input: spec.input} : {stdin: 'ignore' as const}),
          // execa's types list only descriptors up to 9; any open descriptor works.
          ...(pipes ? {stdout: pipes[0].writeFd as 9, stderr: pipes[1].writeFd as 9} : {}),
          // Detached: setsid(2), a session and process group of its own, out of the terminal's reach.
          ...(spec.uninterruptible
            ? {detached: true, forceKillAfterDelay: false as const}
            : {cancelSignal: signal, forceKillAfterDelay: spec.noForceKill ? false : KILL_GRACE_MS, timeout: spec.timeoutMs}),
          ...(spec.processGroup ? {detached: true} : {}),
          buffer: false,
          reject: false,
          encoding: 'buffer',
        });
      } finally {
        // The child has its own copies now (or never started): ours would hold the pipes open.
        for (const pipe of pipes ?? []) closeSync(pipe.writeFd);
      }
      // A secret split across two reads would slip past a per-chunk mask and land whole in the
      // transcript: hold back the end of each chunk that could be the start of a secret.
      const holdBack = Math.max(0, ...secrets.filter((x) => x.length >= 4).map((x) => x.length - 1));
      const carry = {out: '', err: ''};
      const raw = (stream: 'out' | 'err', text: string, final: boolean) => {
        if (!this.listeners.size) return;
        if (!holdBack) {
          if (text) this.emit({type: 'raw', run, stream, text});
          return;
        }
        const masked = maskText(carry[stream] + text, secrets);
        const cut = final ? masked.length : Math.max(0, masked.length - holdBack);
        carry[stream] = masked.slice(cut);
        if (cut) this.emit({type: 'raw', run, stream, text: masked.slice(0, cut)});
      };
      // Each chunk is decoded once (UTF-8 split across reads included) for the capture, the
      // transcript and the display lines.
      const decoders = {out: new TextDecoder('utf-8'), err: new TextDecoder('utf-8')};
      const onText = (stream: 'out' | 'err', text: string, final: boolean) => {
        if (stream === 'out' && spec.capture && stdout.length < CAPTURE_LIMIT) stdout += text;
        raw(stream, text, final);
        if (text) (stream === 'out' ? outLines : errLines).write(text);
      };
      const onChunk = (stream: 'out' | 'err') => (chunk: Uint8Array) => onText(stream, decoders[stream].decode(chunk, {stream: true}), false);
      const readers = pipes ? [new PipeReader(pipes[0].readFd, onChunk('out')), new PipeReader(pipes[1].readFd, onChunk('err'))] : [];
      if (!pipes) {
        child.stdout?.on('data', onChunk('out'));
        child.stderr?.on('data', onChunk('err'));
      }
      // The whole group at once when cancelled: the wizard may exit right after its cleanups.
      const onAbort = () => child.pid && void stopGroup(child.pid, !spec.noForceKill);
      if (spec.processGroup && !spec.uninterruptible) signal.addEventListener('abort', onAbort, {once: true});
      if (spec.uninterruptible) {
        const name = spec.cmd.split('/').pop() ?? spec.cmd;
        holdStop({
          describe: () => {
            const how = [run.progress !== undefined ? `${Math.floor(run.progress * 100)} %` : undefined, `running for ${Math.round((Date.now() - started) / 1000)} s`].filter(Boolean).join(', ');
            return `${name} (${title}) is still running${child.pid ? ` as pid ${child.pid}` : ''}, ${how}`;
          },
          done: child.then(() => undefined, () => undefined),
        });
      }
      // On a timeout execa stops only the leader, and a child still holding its output would keep
      // us waiting: the rest of the group follows just after.
      const groupTimer = spec.processGroup && spec.timeoutMs && !spec.uninterruptible ? setTimeout(onAbort, spec.timeoutMs + 100) : undefined;
      const result = await child;
      clearTimeout(groupTimer);
      signal.removeEventListener('abort', onAbort);
      if (spec.processGroup && !spec.uninterruptible && child.pid && (result.isCanceled || result.timedOut || signal.aborted)) await stopGroup(child.pid, !spec.noForceKill);
      // The rest of the output, up to end of file (as Node's pipes: whoever still holds the write
      // end, a child the command left behind, keeps the run open).
      for (const reader of readers) reader.nudge();
      await Promise.all(readers.map((reader) => reader.done));
      onText('out', decoders.out.decode(), true);
      onText('err', decoders.err.decode(), true);
      outLines.end();
      errLines.end();
      const durationMs = Date.now() - started;

      if (!spec.uninterruptible && (result.isCanceled || (signal.aborted && result.failed))) {
        this.finish(run, 'cancelled', result.exitCode);
        throw new Cancelled(`${title}: cancelled`);
      }
      if (result.exitCode === undefined) {
        const code = (result as {code?: string}).code;
        const name = spec.cmd.split('/').pop() ?? spec.cmd;
        const message =
          code === 'ENOENT'
            ? `${name} was not found. Install it: apt-get install ${PACKAGE_OF[name] ?? name}`
            : result.timedOut
              ? `${title}: no answer after ${Math.round((spec.timeoutMs ?? 0) / 1000)} s, stopped`
              : `${title}: ${result.signal ? `ended by ${result.signal}` : maskText(result.shortMessage ?? 'could not run', secrets)}`;
        run.lines.push({stream: 'err', text: message});
        this.finish(run, 'failed', result.exitCode);
        throw new StepError(message, title, tail, code === 'ENOENT' ? `apt-get install ${PACKAGE_OF[name] ?? name}` : undefined);
      }
      const ok = (spec.okExitCodes ?? [0]).includes(result.exitCode);
      this.finish(run, ok ? 'ok' : 'failed', result.exitCode);
      if (!ok && spec.check !== false) {
        throw new StepError(`${title} failed (exit code ${result.exitCode})`, title, tail);
      }
      // Asked to stop while it ran to its end: nothing after it runs (a failure is the caller's to tell).
      if (spec.uninterruptible && signal.aborted && ok) {
        throw new Cancelled(`${title}: finished (exit code ${result.exitCode}), then stopped as asked`);
      }
      return {exitCode: result.exitCode, stdout, tail, durationMs, run};
    } finally {
      this.active--;
    }
  }

  private progress(run: RunRecord, fraction: number | undefined, final: boolean): void {
    if (fraction === undefined) return;
    if (!final && run.progress !== undefined && Math.abs(fraction - run.progress) < 0.001) return;
    run.progress = fraction;
    this.emit({type: 'progress', run, fraction});
  }

  private finish(run: RunRecord, status: RunRecord['status'], exitCode?: number): void {
    run.status = status;
    run.exitCode = exitCode;
    run.endedAt = Date.now();
    if (status === 'ok' && run.progress !== undefined) run.progress = 1;
    this.emit({type: 'end', run});
  }

  private emit(event: RunnerEvent): void {
    for (const listener of this.listeners) listener(event);
    if (event.type !== 'raw') scheduleTick(this.store);
  }
}

/** SIGTERM to what is left of a process group; SIGKILL to whatever still lives after the grace period. */
async function stopGroup(pgid: number, force: boolean): Promise<void> {
  const send = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false; // ESRCH: nobody left in the group
    }
  };
  if (!send('SIGTERM')) return;
  const deadline = Date.now() + KILL_GRACE_MS;
  while (send(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (force) send('SIGKILL');
}

// Output changes are announced to the store at most every 33 ms (30 frames per second).
const pending = new WeakSet<AppStore>();
function scheduleTick(store: AppStore): void {
  if (pending.has(store)) return;
  pending.add(store);
  setTimeout(() => {
    pending.delete(store);
    store.setState((s) => ({outputTick: s.outputTick + 1}));
  }, 33).unref();
}
