// How a non-interactive command talks: plain lines for people, or one JSON object a line for
// automation (`--json`). Command output lines go to stderr in plain mode so stdout stays the
// result; in JSON mode everything is an event on stdout.
import {shellLine} from '../runner/mask.js';
import type {Runner} from '../runner/runner.js';
import type {RunRecord} from '../store.js';

export interface Reporter {
  readonly json: boolean;
  info(text: string): void;
  warn(text: string, fix?: string): void;
  /** A structured event (JSON mode only). */
  event(type: string, data: Record<string, unknown>): void;
  /** The final result: `data` in JSON mode, `text` otherwise. */
  result(data: Record<string, unknown>, text: string): void;
  /** Plain output that belongs on stdout (the dry-run plan, a table). */
  print(text: string): void;
  /** JSON mode: the result is held until now, so that it is the last line (after the transcript event). */
  flush(): void;
}

export function createReporter(json: boolean, write = (s: string) => process.stdout.write(s), writeErr = (s: string) => process.stderr.write(s)): Reporter {
  const emit = (obj: Record<string, unknown>) => write(`${JSON.stringify(obj)}\n`);
  let held: Record<string, unknown> | undefined;
  return {
    json,
    info: (text) => (json ? emit({type: 'info', message: text}) : writeErr(`${text}\n`)),
    warn: (text, fix) => (json ? emit({type: 'warning', message: text, ...(fix ? {fix} : {})}) : writeErr(`warning: ${text}${fix ? `\n  fix: ${hang(fix)}` : ''}\n`)),
    event: (type, data) => {
      if (json) emit({type, ...data});
    },
    result: (data, text) => {
      if (json) held = {type: 'result', ...data};
      else write(text.endsWith('\n') ? text : `${text}\n`);
    },
    flush: () => {
      if (held) emit(held);
      held = undefined;
    },
    print: (text) => {
      if (!json) write(text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

/** Shows what the runner does as it does it: argv, output lines, progress, exit. */
export function followRunner(runner: Runner, reporter: Reporter, options: {verbose: boolean}): () => void {
  let lastPercent = -1;
  // A command that runs long (resize2fs on a large grow: 40 s and more) says every so often that it
  // still runs, for how long and how far: silence would look like a hang, and a hang invites Ctrl+C.
  const beats = new Map<number, NodeJS.Timeout>();
  const beat = (run: RunRecord) => {
    const seconds = Math.round((Date.now() - run.startedAt) / 1000);
    const percent = run.progress !== undefined ? Math.floor(run.progress * 100) : undefined;
    if (reporter.json) reporter.event('still-running', {id: run.id, title: run.title, seconds, ...(percent !== undefined ? {fraction: run.progress} : {})});
    else process.stderr.write(`  … ${run.title}: still running after ${seconds} s${percent !== undefined ? `, ${percent} %` : ''}\n`);
  };
  const unsubscribe = runner.subscribe((event) => {
    const {run} = event;
    if (run.status !== 'planned' && run.kind === 'command') {
      if (event.type === 'start') beats.set(run.id, setInterval(() => beat(run), HEARTBEAT_MS).unref());
      else if (event.type === 'end') {
        clearInterval(beats.get(run.id));
        beats.delete(run.id);
      }
    }
    if (reporter.json) {
      if (event.type === 'start') reporter.event('command-start', {id: run.id, title: run.title, argv: run.argv, kind: run.kind, planned: run.status === 'planned'});
      else if (event.type === 'line') reporter.event('line', {id: run.id, stream: event.stream, text: event.text});
      else if (event.type === 'progress') {
        const percent = Math.floor(event.fraction * 100);
        if (percent !== lastPercent) reporter.event('progress', {id: run.id, fraction: event.fraction});
        lastPercent = percent;
      } else if (event.type === 'end') reporter.event('command-end', {id: run.id, status: run.status, exitCode: run.exitCode ?? null, durationMs: (run.endedAt ?? run.startedAt) - run.startedAt});
      return;
    }
    if (run.status === 'planned') return; // the plan is printed as a whole
    if (event.type === 'start') process.stderr.write(`$ ${shellLine(run.argv)}\n`);
    else if (event.type === 'line' && (options.verbose || event.stream === 'err')) process.stderr.write(`  ${event.text}\n`);
    else if (event.type === 'end' && run.status === 'failed') {
      for (const line of run.lines.last(15)) if (!options.verbose && line.stream === 'out') process.stderr.write(`  ${line.text}\n`);
    }
  });
  return () => {
    unsubscribe();
    for (const timer of beats.values()) clearInterval(timer);
    beats.clear();
  };
}

const HEARTBEAT_MS = 10_000;

/** A fix of several lines (a TOML block to add) stays under its "fix:", every line indented alike. */
export const hang = (fix: string) => fix.replace(/\n/g, '\n       ');
