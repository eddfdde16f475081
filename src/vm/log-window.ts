// What the log pane shows, found without holding up a frame or a key: the lines of a paused view,
// the followed end under a filter, and the line a search or a move goes to. A scan reads at most
// STEP bytes at a time; what is left goes on in steps between frames (pump()), the pane shows what
// was found so far and how far the scan has come, and Esc stops a search or a move (cancel()).
// A filter that matches nothing in a gigabyte, or a search for a line of its first megabyte, then
// costs the operator nothing but the wait they see.
import type {Condition, LogSource, SourceLine} from './log-source.js';

/** Bytes scanned in one step: a few milliseconds here, so keys and frames go on between steps. */
export const STEP = 4 * 2 ** 20;

export interface Seek {
  /** What the status row says while it runs ("searching /x"). */
  label: string;
  /** A line start: forward from it, or backward from the line before it. */
  from: number;
  dir: 1 | -1;
  /** Lines wanted; `done` gets fewer when the log has no more. */
  count: number;
  where: readonly Condition[];
  /** Called once, with what was found, oldest first; never after cancel(). */
  done: (lines: SourceLine[]) => void;
}

interface Seeking extends Seek {
  pos: number;
  found: SourceLine[];
}

/** The last `rows` lines up to `end` that meet `where`; older ones are still looked for below `floor`. */
interface Tail {
  key: string;
  rows: number;
  where: readonly Condition[];
  lines: SourceLine[];
  end: number;
  floor: number;
}

/** The first `rows` lines from `top` that meet `where`; more are looked for from `next`. */
interface Head {
  key: string;
  rows: number;
  where: readonly Condition[];
  top: number;
  lines: SourceLine[];
  next: number;
}

export class LogWindow {
  private tail?: Tail;
  private head?: Head;
  private mode: 'tail' | 'head' = 'tail';
  private seeking?: Seeking;

  constructor(
    private readonly source: LogSource,
    private readonly step = STEP,
  ) {}

  /** Following: the last `rows` lines up to `end` that meet `where` (`key` names rows and conditions: a new key starts afresh). */
  following(end: number, rows: number, where: readonly Condition[], key: string): SourceLine[] {
    this.mode = 'tail';
    let t = this.tail;
    if (!t || t.key !== key || end < t.end || end - t.end > this.step) {
      // New conditions, a cut log, or more arrived than a step reads: look again from the end.
      t = this.tail = {key, rows, where, lines: [], end, floor: end};
      this.older(t);
    } else if (end > t.end) {
      // Only what arrived since the last frame is read.
      t.lines = [...t.lines, ...this.source.backward(end, rows, where, t.end)].slice(-rows);
      t.end = end;
    }
    return t.lines;
  }

  /** Paused at `top`: the first `rows` lines from it that meet `where`, as far as they are found yet. */
  paused(top: number, end: number, rows: number, where: readonly Condition[], key: string): SourceLine[] {
    this.mode = 'head';
    let h = this.head;
    if (!h || h.key !== key) h = this.head = {key, rows, where, top, lines: [], next: top};
    // One step at each frame while the view is short: a growing log fills it at once.
    if (h.lines.length < rows && h.next < end) this.ahead(h);
    return h.lines;
  }

  /** Starts a search or a move: one step now (`done` may be called before this returns), the rest in pump(). */
  seek(seek: Seek): void {
    this.seeking = {...seek, pos: seek.from, found: []};
    this.stepSeek();
  }

  /** Stops the search or move under way; its label, or undefined when none was. */
  cancel(): string | undefined {
    const label = this.seeking?.label;
    this.seeking = undefined;
    return label;
  }

  /** True while a scan has more to do. */
  pending(): boolean {
    if (this.seeking) return true;
    if (this.mode === 'tail') return Boolean(this.tail && this.tail.lines.length < this.tail.rows && this.tail.floor > 0);
    return Boolean(this.head && this.head.lines.length < this.head.rows && this.head.next < this.source.end());
  }

  /** One step of what is pending (a search or move first); true while more remains. */
  pump(): boolean {
    if (this.seeking) this.stepSeek();
    else if (this.mode === 'tail' && this.tail) this.older(this.tail);
    else if (this.head) this.ahead(this.head);
    return this.pending();
  }

  /** How far the scan under way has come, for the status row ("searching /x: 37%"), or undefined. */
  progress(): string | undefined {
    if (!this.pending()) return undefined;
    const end = this.source.end();
    const percent = (done: number, all: number) => `${all > 0 ? Math.min(99, Math.floor((100 * done) / all)) : 0}%`;
    const s = this.seeking;
    if (s) return `${s.label}: ${s.dir > 0 ? percent(s.pos - s.from, end - s.from) : percent(s.from - s.pos, s.from)} of the log`;
    if (this.mode === 'tail' && this.tail) return `looking for matching lines: ${percent(this.tail.end - this.tail.floor, this.tail.end)} of the log`;
    const h = this.head!;
    return `looking for matching lines: ${percent(h.next - h.top, end - h.top)} of the rest`;
  }

  private older(t: Tail): void {
    const need = t.rows - t.lines.length;
    if (need <= 0 || t.floor <= 0) return;
    const got = this.source.backward(t.floor, need, t.where, 0, this.step);
    t.floor = got.length >= need ? 0 : this.source.stopped();
    t.lines = [...got, ...t.lines];
  }

  private ahead(h: Head): void {
    const got = this.source.forward(h.next, h.rows - h.lines.length, h.where, this.step);
    h.next = this.source.stopped();
    h.lines.push(...got);
  }

  private stepSeek(): void {
    const s = this.seeking!;
    const need = s.count - s.found.length;
    if (s.dir > 0) {
      s.found.push(...this.source.forward(s.pos, need, s.where, this.step));
      s.pos = this.source.stopped();
    } else {
      s.found.unshift(...this.source.backward(s.pos, need, s.where, 0, this.step));
      s.pos = this.source.stopped();
    }
    if (s.found.length >= s.count || (s.dir > 0 ? s.pos >= this.source.end() : s.pos <= 0)) {
      this.seeking = undefined;
      s.done(s.found);
    }
  }
}
