// A small pseudo-terminal harness for the benchmarks (the tests' test/helpers/pty.ts is TypeScript):
// runs a program in a pty, feeds what it writes to a headless xterm, and records when each chunk
// arrived and how many frames Ink drew. Ink wraps every frame in a synchronized-update sequence
// (ESC [?2026h ... ESC [?2026l) when it writes to a terminal outside CI, so frames are counted by
// those. The child always gets CI=false (Ink draws only its last frame when CI is set).
import {readFileSync} from 'node:fs';
import pty from '@lydell/node-pty';
import xterm from '@xterm/headless';

const BSU = '\x1b[?2026h';

/** Milliseconds on the system-wide monotonic clock: comparable between processes on Linux. */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * @param {string} command
 * @param {string[]} args
 * @param {{cols?: number, rows?: number, env?: Record<string, string>, cwd?: string, onScreen?: (screen: () => string[], at: number) => void, parse?: boolean}} options
 *   onScreen is called after each chunk is applied to the emulated screen, with the chunk's arrival time.
 */
export function startPty(command, args, options = {}) {
  const cols = options.cols ?? 120;
  const rows = options.rows ?? 40;
  const env = {...process.env, ...options.env, TERM: 'xterm-256color', CI: 'false'};
  delete env.CONTINUOUS_INTEGRATION;
  const parse = options.parse ?? true;
  const term = parse ? new xterm.Terminal({cols, rows, allowProposedApi: true, scrollback: 0}) : undefined;
  const started = nowMs();
  const child = pty.spawn(command, args, {name: 'xterm-256color', cols, rows, cwd: options.cwd ?? process.cwd(), env});
  const state = {frames: 0, bytes: 0, firstOutput: undefined, carry: ''};
  const frameTimes = [];
  child.onData((data) => {
    const at = nowMs();
    state.firstOutput ??= at;
    state.bytes += data.length;
    const scan = state.carry + data;
    for (let i = scan.indexOf(BSU); i >= 0; i = scan.indexOf(BSU, i + 1)) {
      state.frames++;
      frameTimes.push(at);
    }
    state.carry = scan.slice(-(BSU.length - 1));
    if (term) {
      term.write(data, () => {
        options.onScreen?.(screenRows, at);
        if (watchers.length) checkWatchers(at);
      });
    }
  });
  // Patterns waited for: resolved with the arrival time of the chunk after which the screen showed them.
  let watchers = [];
  function checkWatchers(at) {
    const text = screenRows().join('\n');
    watchers = watchers.filter((w) => {
      if (!(typeof w.pattern === 'string' ? text.includes(w.pattern) : w.pattern.test(text))) return true;
      w.resolve(at);
      return false;
    });
  }
  let exited = false;
  const exit = new Promise((resolve) => child.onExit(({exitCode, signal}) => {
    exited = true;
    resolve(signal ? 128 + signal : exitCode);
  }));

  function screenRows() {
    if (!term) return [];
    const buffer = term.buffer.active;
    const out = [];
    for (let i = 0; i < term.rows; i++) out.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
    return out;
  }
  const settled = () => new Promise((resolve) => (term ? term.write('', resolve) : resolve()));

  return {
    pid: child.pid,
    started,
    state,
    frameTimes,
    exit,
    screen: () => screenRows().join('\n'),
    /**
     * Resolves with the arrival time (nowMs) of the output chunk that made the screen match: when
     * the terminal had it, not when this process got round to looking.
     */
    async waitFor(pattern, timeoutMs = 15_000) {
      await settled();
      const text = screenRows().join('\n');
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return nowMs();
      return new Promise((resolve, reject) => {
        const fail = (why) => {
          watchers = watchers.filter((w) => w !== watcher);
          reject(new Error(`waitFor(${pattern}) ${why}; screen:\n${screenRows().join('\n')}`));
        };
        const timer = setTimeout(() => fail('timed out'), timeoutMs);
        const watcher = {pattern, resolve: (at) => (clearTimeout(timer), resolve(at))};
        watchers.push(watcher);
        void exit.then(() => setTimeout(() => watchers.includes(watcher) && fail('program exited'), 100));
      });
    },
    write: (text) => child.write(text),
    kill(signal = 'SIGTERM') {
      if (exited) return;
      try {
        child.kill(signal);
      } catch {
        // gone already
      }
    },
    /** Kills the child and waits for it (SIGKILL after a grace period). */
    async stop() {
      this.kill('SIGTERM');
      const timer = setTimeout(() => this.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
      term?.dispose();
    },
  };
}

const TICKS = 100; // CLK_TCK on Linux

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14 and 15)
}

/** Peak resident set (VmHWM) in bytes. */
export function peakRss(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
