// The serial log's tail as a stream of events for the log pane, with what arrived before the pane
// was there to see it. `logs --follow` starts one before Ink loads (150-250 ms on the 2-core
// machines here): the file is opened and its last 64 KiB read meanwhile, and the pane's first
// frame already shows the end of the log, not "waiting..." followed by a second frame.
import {candidates, TRACKED} from './hints.js';
import {LogTail, type TailLine, type TailOptions} from './tail.js';

export type LogEvent =
  | {type: 'line'; line: TailLine}
  /** Lines read that can match no hint (not decoded; see TailOptions.select). */
  | {type: 'skipped'; count: number}
  | {type: 'restarted'; reason: 'truncated' | 'replaced'}
  | {type: 'waiting'}
  | {type: 'opened'}
  | {type: 'unreadable'; why: string};

/** Lines kept for the pane until it takes them: it shows no more than this (see LogScreen's KEEP). */
const HOLD_LINES = 5000;

/** What the log pane's feed passes on: lines that may hold a hint its tracker reads, and a new boot's kernel banner (see LogView). */
const SELECT = candidates(String.raw`Linux version \d`, TRACKED);

export class LogFeed {
  private readonly tail: LogTail;
  private held: LogEvent[] = [];
  private heldLines = 0;
  private sink?: (event: LogEvent) => void;
  private started?: Promise<void>;

  constructor(readonly path: string, options: TailOptions = {}) {
    // Changes read at most every 20 ms under a flood (the pane draws at most every 67 ms).
    // Only lines that may hold a hint or a boot banner are decoded (the pane reads its lines from the file).
    this.tail = new LogTail(path, {ringSize: 200, batchMs: 20, select: SELECT, ...options});
    this.tail.on('line', (line) => this.deliver({type: 'line', line}));
    this.tail.on('skipped', (count) => this.deliver({type: 'skipped', count}));
    this.tail.on('restarted', ({reason}) => this.deliver({type: 'restarted', reason}));
    this.tail.on('waiting', () => this.deliver({type: 'waiting'}));
    this.tail.on('opened', () => this.deliver({type: 'opened'}));
    this.tail.on('unreadable', (why) => this.deliver({type: 'unreadable', why}));
  }

  /**
   * Opens the log and follows it; events wait for `take`. Resolves once what was there has been
   * read (or found missing or unreadable). A second call returns the same promise.
   */
  start(): Promise<void> {
    this.started ??= this.tail.start();
    return this.started;
  }

  /** Hands over what has arrived so far, synchronously and in order; later events are held again. */
  drain(sink: (event: LogEvent) => void): void {
    const held = this.held;
    this.held = [];
    this.heldLines = 0;
    for (const event of held) sink(event);
  }

  /** Hands over what has arrived so far, then every later event as it comes. */
  take(sink: (event: LogEvent) => void): void {
    this.drain(sink);
    this.sink = sink;
  }

  stop(): Promise<void> {
    this.sink = undefined;
    return this.tail.stop();
  }

  private deliver(event: LogEvent): void {
    if (this.sink) return this.sink(event);
    const prev = this.held.at(-1);
    if (event.type === 'skipped' && prev?.type === 'skipped') return void (prev.count += event.count);
    this.held.push(event);
    if (event.type === 'line' && ++this.heldLines > 2 * HOLD_LINES) {
      // A flood while nobody looks: the oldest held lines go (the pane could not show them anyway),
      // in one pass every HOLD_LINES lines.
      let drop = this.heldLines - HOLD_LINES;
      this.held = this.held.filter((e) => e.type !== 'line' || drop-- <= 0);
      this.heldLines = HOLD_LINES;
    }
  }
}
