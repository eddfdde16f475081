// tdx-wizard logs [--file PATH] [--follow]: the VM's serial log with a hint under every line the
// catalogue knows. Without --follow it prints the whole log and exits 1 when the log ends in a
// failure. With --follow it keeps following across VM restarts until Ctrl-C, which exits 130 like
// every other interrupted command.
import type {Command} from 'commander';
import {statSync} from 'node:fs';
import {rootSignal, registerCleanup} from '../cleanup.js';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {UsageError} from '../errors.js';
import {serialLog} from '../paths.js';
import {actionFor, MarkerTracker, type HintMatch, type MarkerState} from '../vm/hints.js';
import {readPidFile} from '../vm/launcher.js';
import {LogFeed} from '../vm/log-feed.js';
import {LogTail, type TailLine} from '../vm/tail.js';
import {markerJson} from './status.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description('print the VM serial log with hints (exit 1 if it ends in a failure); --follow keeps following it')
    .option('--file <path>', 'the serial log (default: /tmp/tdx-guest-td.log)')
    .option('--follow', 'keep following: new lines, VM restarts, VM exit; Ctrl-C ends (exit 130)')
    .action(
      action('logs', async (ctx, _args, opts) => {
        const file = opts.file === undefined ? serialLog() : String(opts.file);
        // On a terminal, following opens the wizard's log pane (search, filter, pause); otherwise plain lines.
        // Esc or q there returns to the shell (exit 0), as from less.
        if (opts.follow && !ctx.reporter.json && process.stdin.isTTY && process.stdout.isTTY) {
          // The log is opened and its end read while Ink loads: the pane's first frame shows it.
          const logFeed = new LogFeed(file);
          const [{runWizard}] = await Promise.all([import('../load-ui.js').then((m) => m.loadUi()), logFeed.start()]);
          return runWizard({color: opts.color !== false, initial: {name: 'log', path: file, shell: true}, logFeed});
        }
        return logs(ctx, file, Boolean(opts.follow));
      }),
    );
}

const COLOURS = {error: '\x1b[31m', warn: '\x1b[33m', ok: '\x1b[32m', info: '\x1b[36m'} as const;

/** Writes in batches: one write per event-loop turn, not one per line of a gigabyte log. */
function output(ctx: CliContext) {
  const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  let buffer = '';
  const flush = () => {
    if (buffer) process.stdout.write(buffer);
    buffer = '';
  };
  const put = (text: string) => {
    if (!buffer) setImmediate(flush);
    buffer += `${text}\n`;
    if (buffer.length > 256 * 1024) flush();
  };
  return {
    flush,
    line(line: TailLine, hint: HintMatch | undefined) {
      if (ctx.reporter.json) {
        flush();
        ctx.reporter.event('line', {n: line.n, text: line.text});
        if (hint) ctx.reporter.event('hint', {n: line.n, ...markerJson(hint)});
        return;
      }
      put(line.text);
      if (!hint || hint.hint.severity === 'info') return;
      const fix = actionFor(hint.hint);
      const text = `  >> ${hint.hint.title}: ${hint.hint.explanation}${fix ? ` Fix: ${fix}` : ''}`;
      put(colour ? `${COLOURS[hint.hint.severity]}${text}\x1b[0m` : text);
    },
    note(text: string, data: Record<string, unknown> = {}) {
      if (ctx.reporter.json) ctx.reporter.event('notice', {message: text, ...data});
      else put(`--- ${text} ---`);
    },
  };
}

/** Why the boot ended the way it did, in words. */
function why(state: MarkerState): string {
  const {cause} = state;
  if (!cause) return 'the log does not say why';
  const fix = actionFor(cause.hint);
  return `${cause.hint.severity === 'error' ? '' : 'last marker: '}${cause.hint.title}${fix ? ` (fix: ${fix})` : ''}`;
}

function describe(state: MarkerState): string {
  if (state.poweredOff) return `the VM powered off: ${why(state)}`;
  return state.cause ? `last marker: ${why(state).replace(/^last marker: /, '')}` : 'no known marker in the log';
}

async function logs(ctx: CliContext, file: string, follow: boolean): Promise<number> {
  // A directory is a wrong path, not a permission problem.
  if (statSync(file, {throwIfNoEntry: false})?.isDirectory()) throw new UsageError(`${file} is a directory, not a serial log`, 'give the log file, e.g. --file /tmp/tdx-guest-td.log');
  const out = output(ctx);
  const tracker = new MarkerTracker();
  const tail = new LogTail(file, follow ? {} : {fromStart: true, ringSize: 1});
  let missing = false;
  let unreadable: string | undefined;
  let stopSaid = false; // once per boot: from the power-down line or from the pid file, whichever comes first
  // The VM's pid as last seen in its pid file, and whether one was known when the stop was said.
  // A boot can power off before the pid file is first looked at (every 500 ms): the VM noticed
  // after that is the one that stopped, not a new boot.
  let pid: number | undefined;
  let stopSaidWithPid = false;
  const sayStopped = (how: string, withPid = pid !== undefined) => {
    if (stopSaid) return;
    stopSaid = true;
    stopSaidWithPid = withPid;
    out.note(`${how}: ${why(tracker.state)}`, {event: 'stopped', marker: markerJson(tracker.state.cause)});
  };
  tail.on('line', (line) => {
    const hint = tracker.push(line.raw);
    out.line(line, hint);
    if (follow && hint?.hint.id === 'power-down') sayStopped('VM powered off');
  });
  tail.on('unreadable', (why) => {
    unreadable = why;
    if (follow) out.note(`cannot read ${file}: ${why} (run as root?); still trying`);
  });
  tail.on('waiting', () => {
    missing = true;
    if (follow) out.note(`waiting for ${file} to appear (the VM has not been launched yet?)`);
  });
  tail.on('removed', () => {
    if (follow) out.note(`${file} was deleted; waiting for a new one (a running VM keeps writing to the deleted file until it restarts)`, {event: 'removed'});
  });
  tail.on('opened', ({skippedBytes}) => {
    if (skippedBytes) out.note(`${skippedBytes} earlier bytes not shown; tdx-wizard logs without --follow prints the whole log`, {skippedBytes});
  });
  tail.on('restarted', ({reason}) => {
    tracker.reset();
    stopSaid = false;
    out.note(`VM restarted: the serial log was ${reason}`, {event: 'restarted', reason});
  });

  if (!follow) {
    await tail.catchUp(true);
    await tail.stop();
    out.flush();
    if (unreadable) throw new UsageError(`cannot read ${file}: ${unreadable}`, 'run as root (sudo)');
    if (missing) throw new UsageError(`there is no serial log at ${file}`, 'launch the VM first (tdx-wizard launch), or pass --file PATH');
    const state = tracker.state;
    ctx.reporter.result({file, lines: tail.lineCount, marker: markerJson(state.cause), poweredOff: state.poweredOff, failed: state.failed}, `--- end of log: ${describe(state)} ---`);
    return state.failed ? 1 : 0;
  }

  const unregister = registerCleanup('stop following the serial log', () => tail.stop());
  await tail.start();
  pid = runningPid();
  if (pid) out.note(`VM running (pid ${pid})`, {event: 'running', pid});
  const watchPid = setInterval(() => {
    const now = runningPid();
    if (now === pid) return;
    if (pid && !now) {
      const ended = pid;
      // Read what the guest wrote last before saying why it stopped.
      void tail.catchUp().then(() => sayStopped(`VM stopped (pid ${ended} has ended)`, true));
    } else if (now) {
      if (stopSaidWithPid) stopSaid = false; // a new boot (the log restarting resets it too)
      out.note(`VM running (pid ${now})`, {event: 'running', pid: now});
    }
    pid = now;
  }, 500);
  await new Promise<void>((resolve) => {
    if (rootSignal.aborted) resolve();
    rootSignal.addEventListener('abort', () => resolve(), {once: true});
  });
  clearInterval(watchPid);
  await tail.stop();
  unregister();
  out.flush();
  return 130;
}

function runningPid(): number | undefined {
  const s = readPidFile();
  return s.state === 'running' ? s.pid : undefined;
}
