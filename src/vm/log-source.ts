// What the log pane scrolls over, read on demand: any line of the serial log, however large the
// file, in bounded memory. Lines are addressed by position (a byte offset in the file, an index in
// an array), as `less` does: the pane keeps the position of its top line, so a paused view holds
// still while the log grows, and Home, search and filter reach the first line of a 1 GB log
// without an index of every line. Reads are synchronous and go through one reused buffer.
//
// A filter is a list of conditions (a regular expression, or its inverse), all of which a line must
// meet. Scanning jumps from one match of the first positive condition to the next (the regular
// expression engine runs over a whole chunk at once), so a filter or a search over a gigabyte reads
// it once at disk speed; only a filter of inverted conditions alone tests line by line.
import {closeSync, fstatSync, openSync, readSync, statSync} from 'node:fs';
import {displayText} from './tail.js';

export interface SourceLine {
  /** Where the line starts: pass it back to read around it. */
  at: number;
  /** Where the next line starts. */
  next: number;
  text: string;
}

export interface Condition {
  re: RegExp;
  invert?: boolean;
}

export interface LogSource {
  /** The position after the last complete line (where following shows the end). */
  end(): number;
  /**
   * Up to `count` lines starting at or after `at` (a line start) that meet every condition. With a
   * `limit`, it stops after scanning about that many bytes (positions, for an array): stopped()
   * then says where to go on.
   */
  forward(at: number, count: number, where?: readonly Condition[], limit?: number): SourceLine[];
  /** Up to `count` lines that start before `at` (and at or after `floor`, a line start) and meet every condition, oldest first; `limit` as for forward. */
  backward(at: number, count: number, where?: readonly Condition[], floor?: number, limit?: number): SourceLine[];
  /**
   * Where the last forward() or backward() stopped scanning, a line start: forward goes on from
   * there, backward goes on below it. Past the last line found when `count` were found.
   */
  stopped(): number;
}

/** True when the line meets every condition. */
export function meets(text: string, where: readonly Condition[]): boolean {
  for (const c of where) if (testRe(c.re, text) === Boolean(c.invert)) return false;
  return true;
}

function testRe(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}

/** Lines held in an array (positions are indices): tests, and anything not in a file. */
export class ArraySource implements LogSource {
  private stop = 0;
  constructor(readonly data: string[]) {}
  end(): number {
    return this.data.length;
  }
  stopped(): number {
    return this.stop;
  }
  forward(at: number, count: number, where: readonly Condition[] = [], limit = Infinity): SourceLine[] {
    const out: SourceLine[] = [];
    let i = Math.max(0, at);
    for (const last = Math.min(this.data.length, i + limit); i < last && out.length < count; i++) {
      if (meets(this.data[i]!, where)) out.push({at: i, next: i + 1, text: this.data[i]!});
    }
    this.stop = i;
    return out;
  }
  backward(at: number, count: number, where: readonly Condition[] = [], floor = 0, limit = Infinity): SourceLine[] {
    const out: SourceLine[] = [];
    let i = Math.min(at, this.data.length);
    for (const last = Math.max(floor, i - limit); i > last && out.length < count; i--) {
      if (meets(this.data[i - 1]!, where)) out.push({at: i - 1, next: i, text: this.data[i - 1]!});
    }
    this.stop = i;
    return out.reverse();
  }
}

// 64 KiB: a decoded chunk stays a young-generation string (a larger one is a large object that only a
// full collection frees, and scanning a gigabyte then raised the peak RSS past 200 MB).
const CHUNK = 64 * 1024;
/** Longer lines are shown cut (as the tail cuts them). */
const MAX_LINE = 16 * 1024;

/**
 * The serial log file itself. The text is scanned as latin1 (one character per byte, so positions
 * are byte offsets) and decoded as UTF-8 only for the lines returned; a pattern of ASCII text, as
 * serial lines are, matches the same either way.
 */
export class FileSource implements LogSource {
  private fd?: number;
  private ino = -1;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  /** Where the buffer's contents were read from. */
  private lastRead = 0;
  private stop = 0;

  constructor(readonly path: string) {}

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The open file (reopened when the path now names another file: the VM restarted). */
  private file(): number | undefined {
    try {
      const ino = statSync(this.path).ino;
      if (this.fd !== undefined && ino === this.ino) return this.fd;
      this.close();
      this.fd = openSync(this.path, 'r');
      this.ino = fstatSync(this.fd).ino;
      return this.fd;
    } catch {
      return this.fd; // gone or unreadable: the old handle, if any, still reads the old file
    }
  }

  private size(): number {
    const fd = this.file();
    return fd === undefined ? 0 : fstatSync(fd).size;
  }

  end(): number {
    const size = this.size();
    if (size === 0) return 0;
    // The last newline: a line still being written is not shown until it ends.
    // Read every frame: the last few KiB first (the last byte is a newline, mostly).
    return this.lineStartBefore(size, 4096);
  }

  private read(at: number, length: number): number {
    const fd = this.file();
    if (fd === undefined || length <= 0) return 0;
    this.lastRead = at;
    return readSync(fd, this.buf, 0, Math.min(length, CHUNK), at);
  }

  private line(at: number, next: number, text: string): SourceLine {
    return {at, next, text: displayText(text)};
  }

  /** Decodes [from, to) of the buffer (read at `base`) as one line, cut to MAX_LINE bytes. */
  private decode(base: number, from: number, to: number): string {
    const stop = to > from && this.buf[to - 1 - base] === 10 ? to - 1 : to;
    return this.buf.toString('utf8', from - base, Math.min(stop, from + MAX_LINE) - base);
  }

  stopped(): number {
    return this.stop;
  }

  forward(at: number, count: number, where: readonly Condition[] = [], limit = Infinity): SourceLine[] {
    const out: SourceLine[] = [];
    const end = this.end();
    let pos = Math.max(0, at);
    for (let scanned = 0; pos < end && out.length < count && scanned < limit; ) {
      const n = this.read(pos, end - pos);
      if (!n) break;
      scanned += n;
      let last = this.buf.lastIndexOf(10, n - 1);
      if (last < 0) {
        // One line longer than a chunk: shown cut, skipped whole.
        const text = this.buf.toString('latin1', 0, Math.min(n, MAX_LINE));
        const shown = this.buf.toString('utf8', 0, Math.min(n, MAX_LINE));
        const next = this.nextLineStart(pos + n, end);
        if (meets(text, where)) out.push(this.line(pos, next, shown));
        pos = next;
        continue;
      }
      last += 1; // the chunk's complete lines end here
      this.scan(pos, pos + last, where, (from, to) => {
        out.push(this.line(from, to, this.decode(pos, from, to)));
        return out.length < count;
      });
      pos += last;
    }
    this.stop = out.length >= count ? out.at(-1)!.next : pos;
    return out;
  }

  backward(at: number, count: number, where: readonly Condition[] = [], floor = 0, limit = Infinity): SourceLine[] {
    const found: SourceLine[] = [];
    let to = Math.min(at, this.end());
    // The end of the log is read most (every frame while following): start small, then grow.
    let size = 16 * 1024;
    for (let scanned = 0; to > floor && found.length < count && scanned < limit; ) {
      const from = Math.max(floor, to - size);
      size = Math.min(CHUNK, size * 4);
      const n = this.read(from, to - from);
      if (!n) break;
      scanned += n;
      // The first complete line of the chunk starts after its first newline (or at the floor).
      const nl = from === floor ? -1 : this.buf.subarray(0, n - 1).indexOf(10); // not the newline that ends the chunk
      if (from > floor && nl < 0) {
        // No line start in the chunk: a line longer than a chunk ends at `to`.
        const start = this.lineStartBefore(from);
        const head = this.read(start, Math.min(MAX_LINE, to - start));
        if (meets(this.buf.toString('latin1', 0, head), where)) found.push(this.line(start, to, this.buf.toString('utf8', 0, head)));
        to = start;
        continue;
      }
      const first = nl + 1;
      const spans: number[] = [];
      this.scan(from + first, from + n, where, (a, b) => {
        spans.push(a, b);
        return true;
      });
      // Only the lines wanted are decoded.
      for (let i = spans.length - 2; i >= 0 && found.length < count; i -= 2) found.push(this.line(spans[i]!, spans[i + 1]!, this.decode(from, spans[i]!, spans[i + 1]!)));
      to = from + first;
    }
    this.stop = found.length >= count ? found.at(-1)!.at : to;
    return found.reverse();
  }

  /** Calls `take(start, next)` for each line in [from, to) of the buffer (read at `from` or before) that meets the conditions, until it returns false. */
  private scan(from: number, to: number, where: readonly Condition[], take: (start: number, next: number) => boolean): void {
    const bufStart = this.lastRead;
    const text = this.buf.toString('latin1', from - bufStart, to - bufStart);
    const driver = where.find((c) => !c.invert);
    const rest = where.filter((c) => c !== driver);
    if (!driver) {
      for (let p = 0; p < text.length; ) {
        const nl = text.indexOf('\n', p);
        const stop = nl < 0 ? text.length : nl + 1;
        if (meets(text.slice(p, stop - 1), rest) && !take(from + p, from + stop)) return;
        p = stop;
      }
      return;
    }
    const re = new RegExp(driver.re.source, driver.re.flags.replace(/[gmy]/g, '') + 'gm');
    for (let p = 0; p < text.length; ) {
      re.lastIndex = p;
      const m = re.exec(text);
      if (!m) return;
      const start = text.lastIndexOf('\n', m.index - 1) + 1;
      const nl = text.indexOf('\n', m.index);
      const stop = nl < 0 ? text.length : nl + 1;
      // A match that spans a newline (a pattern such as \s) is taken for the line it starts in.
      if (meets(text.slice(start, stop - 1), rest) && !take(from + start, from + stop)) return;
      p = stop;
    }
  }


  private nextLineStart(at: number, end: number): number {
    for (let pos = at; pos < end; ) {
      const n = this.read(pos, end - pos);
      const nl = this.buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return pos + nl + 1;
      pos += n;
      if (!n) break;
    }
    return end;
  }

  /** Where the line that ends at `at` starts: the byte after the newline before it (the first read `first` bytes, the next CHUNK). */
  private lineStartBefore(at: number, first = CHUNK): number {
    for (let to = at, step = first; to > 0; step = CHUNK) {
      const from = Math.max(0, to - step);
      const n = this.read(from, to - from);
      const nl = this.buf.lastIndexOf(10, n - 1);
      if (nl >= 0) return from + nl + 1;
      to = from;
    }
    return 0;
  }
}
