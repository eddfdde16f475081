// End-to-end harness: runs a Node script (the built CLI) in a pseudo-terminal and feeds its output
// to a headless xterm, so tests assert on the screen as a terminal would show it (cursor moves and
// erases applied), not on the raw byte stream.
//
// The child always gets CI=false (Ink draws only its last frame when CI is set, and CI runs with
// CI=true) and TERM=xterm-256color. Where a key leads to another screen, wait for that screen
// before the next key: keys that arrive in the same read as it are each taken
// (components/keyBurst.ts), but by the screen they arrived on.
import pty from '@lydell/node-pty';
import xterm from '@xterm/headless';

export interface PtyOptions {
  cols?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The program to run; default: this Node binary (args then start with the script). */
  command?: string;
}

export interface PtyRun {
  /** The visible screen, one line per row, right-trimmed. */
  screen(): string;
  /** Everything the child has written so far (raw, with escape sequences). */
  output(): string;
  /** Resolves when the screen matches; rejects after `timeoutMs` (default 15 s: CI shares 2 cores) with the screen in the message. */
  /** Until the screen shows the text, matches the pattern, or satisfies the predicate. */
  waitFor(pattern: string | RegExp | ((screen: string) => boolean), timeoutMs?: number): Promise<void>;
  /** Named keys (Enter, Up, Down, Left, Right, Escape, Tab, Backspace, PageUp, PageDown, Home, End, C-c) or literal text. */
  press(...keys: string[]): Promise<void>;
  /** Types text one character at a time; with `echo`, waits for the typed text to show after each. */
  type(text: string, options?: {echo?: boolean; timeoutMs?: number}): Promise<void>;
  resize(cols: number, rows: number): void;
  /** The exit code (128 + signal number when killed by a signal). */
  exit: Promise<number>;
  /** The exit code; rejects after `timeoutMs` (default 15 s) with the screen, should the program still run. */
  exited(timeoutMs?: number): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export const KEYS: Record<string, string> = {
  Enter: '\r',
  Up: '\u001B[A',
  Down: '\u001B[B',
  Right: '\u001B[C',
  Left: '\u001B[D',
  Escape: '\u001B',
  Tab: '\t',
  Backspace: '\u007F',
  PageUp: '\u001B[5~',
  PageDown: '\u001B[6~',
  Home: '\u001B[H',
  End: '\u001B[F',
  'C-c': '\u0003',
};

const KEY_GAP_MS = 15;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startPty(args: readonly string[], options: PtyOptions = {}): PtyRun {
  const cols = options.cols ?? 80;
  const rows = options.rows ?? 24;
  const env: NodeJS.ProcessEnv = {...process.env, ...options.env, TERM: 'xterm-256color', CI: 'false'};
  delete env.CONTINUOUS_INTEGRATION; // is-in-ci reads this one too
  const term = new xterm.Terminal({cols, rows, allowProposedApi: true, scrollback: 1000});
  const child = pty.spawn(options.command ?? process.execPath, [...args], {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: options.cwd ?? process.cwd(),
    env: env as Record<string, string>,
  });
  let raw = '';
  child.onData((data) => {
    raw += data;
    term.write(data);
  });
  const exit = new Promise<number>((resolve) => {
    child.onExit(({exitCode, signal}) => resolve(signal ? 128 + signal : exitCode));
  });
  let exited = false;
  void exit.then(() => (exited = true));

  const screen = () => {
    const buffer = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < term.rows; i++) lines.push(buffer.getLine(buffer.viewportY + i)?.translateToString(true) ?? '');
    return lines.join('\n');
  };
  const matches = (pattern: string | RegExp | ((screen: string) => boolean)) =>
    typeof pattern === 'string' ? screen().includes(pattern) : typeof pattern === 'function' ? pattern(screen()) : pattern.test(screen());
  // xterm parses writes asynchronously: an empty write's callback fires once earlier data is applied.
  const settled = () => new Promise<void>((resolve) => term.write('', resolve));

  const waitFor = async (pattern: string | RegExp | ((screen: string) => boolean), timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await settled();
      if (matches(pattern)) return;
      if (Date.now() > deadline) {
        throw new Error(`waitFor(${String(pattern)}) timed out after ${timeoutMs} ms${exited ? ' (the program has exited)' : ''}; screen:\n${screen()}`);
      }
      await sleep(25);
    }
  };

  return {
    screen,
    output: () => raw,
    waitFor,
    async press(...keys) {
      for (const key of keys) {
        child.write(KEYS[key] ?? key);
        await sleep(KEY_GAP_MS);
      }
    },
    async type(text, {echo = false, timeoutMs = 15_000} = {}) {
      let sofar = '';
      for (const ch of text) {
        child.write(ch);
        sofar += ch;
        if (echo) await waitFor(sofar, timeoutMs);
        else await sleep(KEY_GAP_MS);
      }
    },
    resize(newCols, newRows) {
      term.resize(newCols, newRows);
      child.resize(newCols, newRows);
    },
    exit,
    exited(timeoutMs = 15_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running ${timeoutMs} ms after it was asked to leave; screen:\n${screen()}`)), timeoutMs);
      });
      return Promise.race([exit, late]).finally(() => clearTimeout(timer));
    },
    kill(signal = 'SIGTERM') {
      if (exited) return;
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

/** After a test: the wizard it started is asked to leave (SIGTERM) and waited for. */
export async function endPty(run: PtyRun | undefined): Promise<void> {
  if (!run) return;
  run.kill('SIGTERM');
  await run.exited().catch(() => undefined);
}
