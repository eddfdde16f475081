// Follows the VM's serial log by byte offset. QEMU truncates the log on every launch and an
// operator may replace it, so both are detected and reported as 'restarted'. Memory stays bounded
// whatever the log's size: recent lines live in a ring, older ones are read back from the file
// through a sparse index of line offsets (one every `indexEvery` lines).
// Lines are split on the byte 0x0a before decoding: that byte never occurs inside a UTF-8
// sequence, so a character split across two reads is decoded whole, and line offsets stay exact.
import {EventEmitter} from 'node:events';
import {watch, type FSWatcher} from 'node:fs';
import {open, stat, type FileHandle} from 'node:fs/promises';
import stripAnsi from 'strip-ansi';
import {plainText} from './plain-text.js';
import {Ring} from '../ring.js';

export interface TailLine {
  /** Line number in the current log: 0 is the first line read, negative numbers come before it. */
  n: number;
  /** Byte offset of the line's start in the file. */
  offset: number;
  /** The text as written, control sequences kept (for the transcript). */
  raw: string;
  /** For display: colours, cursor moves and control characters removed. */
  text: string;
}

export interface TailOptions {
  ringSize?: number;
  /** On opening a larger file, start this many bytes before its end (at a line start). */
  initialBytes?: number;
  /** Read the whole file from the start instead. */
  fromStart?: boolean;
  pollMs?: number;
  indexEvery?: number;
  /** Longer lines are cut (the rest is skipped up to the newline). */
  maxLineBytes?: number;
  /**
   * File-change events after a read wait until this many ms after it, then are read in one pass (a
   * writer appending 200 times a second costs 200 passes of stat, fstat and read otherwise). The
   * first change after a quiet spell is still read at once. 0: every event is read at once.
   */
  batchMs?: number;
  /**
   * Only lines whose plain text (see plain-text.ts) this pattern may match are emitted (the log
   * pane's hints and boot banner); each run of other lines is counted, not decoded, and said as
   * one 'skipped' event instead of a 'line' each (a flood costs a count, not an object and an
   * event per line). Those lines are not kept in the ring: readLines reads them from the file.
   */
  select?: RegExp;
}

type TailEvents = {
  line: [TailLine];
  /** With `select`: this many lines read that it cannot match (see TailOptions.select). */
  skipped: [number];
  restarted: [{reason: 'truncated' | 'replaced'}];
  waiting: [];
  /** The file was deleted while followed (said once; a new file at the path is then a 'replaced'). */
  removed: [];
  opened: [{size: number; skippedBytes: number}];
  unreadable: [string];
};

const CHUNK = 256 * 1024;
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

export function displayText(raw: string): string {
  // Most lines hold no control character but the CR of QEMU's CRLF: they need no more work.
  let end = raw.length;
  while (end > 0 && raw.charCodeAt(end - 1) === 13) end--;
  const body = end === raw.length ? raw : raw.slice(0, end);
  if (!CONTROL.test(body)) return body;
  let s = stripAnsi(raw).replace(/\r+$/, '');
  const cr = s.lastIndexOf('\r'); // a carriage return rewrites the line on a terminal: keep what shows
  if (cr >= 0) s = s.slice(cr + 1);
  return s.replace(/\t/g, ' ').replace(/[\x00-\x1f\x7f-\x9f]/g, '');
}

// In text decoded from UTF-8: an escape sequence or C1 control (strip-ansi's starts), or a carriage
// return inside a line (a terminal shows what follows it).
const ESCAPE_BYTES = /[\x1b\x80-\x9f]|\r(?!\n|$)/m;
// The same in a read decoded as Latin-1: ESC, the lead byte 0xc2 of a UTF-8 C1 control (and of
// other Latin-1 letters: a few lines looked at for nothing), a carriage return not ending a line.
const ESCAPES = /[\x1b\xc2]|\r(?!\n)/g;
const ESCAPED_LINE = new RegExp(ESCAPES.source); // tested on one line, its newline included

/**
 * The select pattern as a search over a read decoded as Latin-1 (one character per byte), with the
 * lines it must look at more closely whatever it says (ESCAPES). Only for a pattern that finds in
 * Latin-1 whatever it finds in UTF-8: ASCII text, escaped punctuation, \d \w \b and classes of
 * ASCII (a `.`, `\S`, `[^...]` or `{n}` counts a character of several bytes as several); null for
 * any other, which `skip` tests on the decoded read instead.
 */
export function lineFinder(select: RegExp): RegExp | null {
  const letters = select.source.replace(/\\[^A-Za-z0-9]/g, '');
  if (/[^\x00-\x7f]|[.{]|\[\^/.test(letters) || /\\[^dwb]/.test(letters) || /[uvs]/.test(select.flags)) return null;
  return new RegExp(`${select.source}|${ESCAPES.source}`, `g${select.flags.replace(/[gy]/g, '')}`);
}

export class LogTail extends EventEmitter<TailEvents> {
  private readonly ring: Ring<TailLine>;
  private readonly opts: Required<Omit<TailOptions, 'select'>> & Pick<TailOptions, 'select'>;
  private fd?: FileHandle;
  private ino = -1;
  private dev = -1;
  private offset = 0; // bytes consumed
  private lineStart = 0; // offset of the line being assembled
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private nextLine = 0;
  private index: number[] = []; // offset of line k * indexEvery
  private back: number[] = []; // offset of line -k * indexEvery, found by scanning backwards
  private first: number | undefined; // lowest line number, once the start of the file is known
  private timer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private stopped = false;
  private busy?: Promise<void>;
  private again = false;
  private waiting = false;
  private problem?: string;
  /** The read buffer of checkOnce (one pass at a time): a follow reads up to hundreds of times a second. */
  private readBuf?: Buffer;
  /** What `skip` looks for in a read decoded as Latin-1 (see lineFinder); null when it cannot. */
  private finder?: RegExp | null;
  /** A batch window is open (batchMs), and whether a change came during it. */
  private batch?: NodeJS.Timeout;
  private changed = false;
  generation = 0;

  constructor(readonly path: string, options: TailOptions = {}) {
    super();
    this.opts = {ringSize: 1000, initialBytes: 64 * 1024, fromStart: false, pollMs: 300, indexEvery: 1000, maxLineBytes: 16 * 1024, batchMs: 0, ...options};
    this.ring = new Ring(this.opts.ringSize);
  }

  /** Reads what is there, then keeps following (fs.watch plus a slow poll for what watch misses). */
  async start(): Promise<void> {
    await this.catchUp();
    // A stop while the log was being opened: no poll (it would keep the process alive for ever).
    if (!this.stopped) this.timer = setInterval(() => void this.catchUp(), this.opts.pollMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.batch);
    this.batch = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    await this.busy;
    // A pass under way may have opened the log and watched it meanwhile.
    (this.watcher as FSWatcher | undefined)?.close();
    this.watcher = undefined;
    await this.fd?.close().catch(() => undefined);
    this.fd = undefined;
  }

  /** The last `n` lines read (oldest first). */
  recent(n?: number): TailLine[] {
    return this.ring.last(n);
  }

  get lineCount(): number {
    return this.nextLine;
  }

  /** The lowest line number, when the start of the file is known (0 unless the file was opened near its end). */
  get firstLine(): number | undefined {
    return this.first;
  }

  get bytesRead(): number {
    return this.offset;
  }

  /** One pass: open or reopen as needed and read everything new. `final` also emits an unterminated last line. */
  catchUp(final = false): Promise<void> {
    if (this.stopped && !final) return this.busy ?? Promise.resolve();
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      do {
        this.again = false;
        await this.checkOnce().then(
          () => (this.problem = undefined),
          (e: Error) => {
            if (e.message !== this.problem) this.emit('unreadable', e.message); // once, not at every poll
            this.problem = e.message;
          },
        );
      } while (this.again);
      if (final && this.pendingBytes) this.endLine(this.takePending(), this.offset);
    })().finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async checkOnce(): Promise<void> {
    const st = await stat(this.path).catch((e: NodeJS.ErrnoException) => e);
    if (st instanceof Error) {
      if (st.code !== 'ENOENT') throw st;
      // Removed: keep the old handle until a new file shows up (that is a replacement).
      if (!this.waiting) this.emit(this.fd ? 'removed' : 'waiting');
      this.waiting = true;
      return;
    }
    this.waiting = false;
    if (!this.fd || st.ino !== this.ino || st.dev !== this.dev) await this.reopen(Boolean(this.fd));
    else if (st.size < this.offset) this.restart('truncated');
    const fd = this.fd!;
    const size = (await fd.stat()).size;
    const buf = (this.readBuf ??= Buffer.allocUnsafe(CHUNK));
    while (this.offset < size && fd === this.fd) {
      const {bytesRead} = await fd.read(buf, 0, Math.min(CHUNK, size - this.offset), this.offset);
      if (!bytesRead) break; // truncated under us: the next pass sees it
      this.consume(buf.subarray(0, bytesRead), this.offset);
      this.offset += bytesRead;
    }
  }

  private async reopen(replaced: boolean): Promise<void> {
    await this.fd?.close().catch(() => undefined);
    this.watcher?.close();
    const fd = await open(this.path, 'r');
    this.fd = fd;
    const st = await fd.stat();
    this.ino = st.ino;
    this.dev = st.dev;
    try {
      // Not once stopped: a watcher nobody closes keeps the process alive.
      this.watcher = this.stopped ? undefined : watch(this.path, () => this.onChange());
      this.watcher?.on('error', () => undefined); // the poll carries on
    } catch {
      this.watcher = undefined;
    }
    if (replaced) this.restart('replaced');
    else await this.startAt(st.size);
  }

  /** The file changed: read it now, or at the end of the batch window a read opened. */
  private onChange(): void {
    if (this.stopped) return;
    if (this.batch) {
      this.changed = true;
      return;
    }
    void this.catchUp();
    if (this.opts.batchMs <= 0) return;
    this.batch = setTimeout(() => {
      this.batch = undefined;
      if (!this.changed) return;
      this.changed = false;
      this.onChange();
    }, this.opts.batchMs);
  }

  /** A new boot: the new content is read from its first byte. */
  private restart(reason: 'truncated' | 'replaced'): void {
    this.generation++;
    this.reset(0);
    this.emit('restarted', {reason});
  }

  private reset(at: number): void {
    this.offset = this.lineStart = at;
    this.pending = [];
    this.pendingBytes = 0;
    this.nextLine = 0;
    this.index = [at];
    this.back = [at];
    this.first = at === 0 ? 0 : undefined;
    this.ring.clear();
  }

  /** A large file is opened near its end, at the start of a line. */
  private async startAt(size: number): Promise<void> {
    let at = 0;
    if (!this.opts.fromStart && size > this.opts.initialBytes) {
      at = size - this.opts.initialBytes;
      const probe = Buffer.allocUnsafe(Math.min(this.opts.initialBytes, 64 * 1024));
      const {bytesRead} = await this.fd!.read(probe, 0, probe.length, at - 1);
      const nl = probe.subarray(0, bytesRead).indexOf(10);
      if (nl >= 0) at += nl;
    }
    this.reset(at);
    this.emit('opened', {size, skippedBytes: at});
  }

  private consume(chunk: Buffer, base: number): void {
    let pos = 0;
    if (this.opts.select) pos = this.skip(chunk, base);
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) break;
      if (this.pendingBytes) {
        this.keep(chunk.subarray(pos, nl));
        this.endLine(this.takePending(), base + nl + 1);
      } else {
        // The common case, a whole line inside one read: decoded straight from the buffer.
        this.endLine(chunk.toString('utf8', pos, Math.min(nl, pos + this.opts.maxLineBytes)), base + nl + 1);
      }
      pos = nl + 1;
    }
    this.keep(chunk.subarray(pos));
  }

  /**
   * With `select`: ends a line begun in an earlier read, then goes through the whole lines of this
   * read: a line the pattern may match is decoded and emitted (one holding an escape sequence, a
   * C1 control or a carriage return inside it only if the pattern matches its plain text); the
   * runs of other lines are counted, not decoded. Returns where the line-by-line pass goes on (the
   * unterminated rest of the read).
   */
  private skip(chunk: Buffer, base: number): number {
    let pos = 0;
    if (this.pendingBytes) {
      const nl = chunk.indexOf(10);
      if (nl < 0) return 0;
      this.keep(chunk.subarray(0, nl));
      this.endLine(this.takePending(), base + nl + 1);
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < pos) return pos;
    const finder = this.finder ??= lineFinder(this.opts.select!);
    if (!finder) {
      // A pattern lineFinder cannot take: the whole read is decoded and tested, as one.
      const whole = chunk.toString('utf8', pos, last + 1);
      if (this.opts.select!.test(whole) || ESCAPE_BYTES.test(whole)) return pos;
      this.count(chunk, base, pos, last + 1);
      return last + 1;
    }
    // Latin-1 gives one character per byte: a position in the text is a byte offset in the read.
    const text = chunk.toString('latin1', pos, last + 1);
    let from = 0; // in text: the first line not yet emitted or counted
    finder.lastIndex = 0;
    while (finder.test(text)) {
      const hit = finder.lastIndex - 1; // inside the line: nothing finder looks for holds a newline
      const start = text.lastIndexOf('\n', hit) + 1;
      const end = text.indexOf('\n', hit); // there is one: the text ends with a newline
      finder.lastIndex = end + 1;
      const raw = chunk.toString('utf8', pos + start, Math.min(pos + end, pos + start + this.opts.maxLineBytes));
      // A line with escape sequences or a carriage return inside it is tested on its plain text,
      // and counted with the others if the pattern cannot match that either.
      if (ESCAPED_LINE.test(text.slice(start, end + 1)) && !this.opts.select!.test(plainText(raw))) continue;
      if (start > from) this.count(chunk, base, pos + from, pos + start);
      this.endLine(raw, base + pos + end + 1);
      from = end + 1;
    }
    if (from < text.length) this.count(chunk, base, pos + from, pos + text.length);
    return last + 1;
  }

  /** Counts the whole lines of chunk[from, to) without decoding them (one 'skipped' event). */
  private count(chunk: Buffer, base: number, from: number, to: number): void {
    let count = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0 && nl < to; nl = chunk.indexOf(10, nl + 1)) {
      if (this.nextLine % this.opts.indexEvery === 0) this.index[this.nextLine / this.opts.indexEvery] = this.lineStart;
      this.nextLine++;
      this.lineStart = base + nl + 1;
      count++;
    }
    this.ring.clear(); // its lines would no longer be the last ones: readLines reads the file
    this.emit('skipped', count);
  }

  private keep(bytes: Buffer): void {
    const room = this.opts.maxLineBytes - this.pendingBytes;
    if (room <= 0 || !bytes.length) return;
    const part = Buffer.from(bytes.subarray(0, room)); // copied: the read buffer is reused
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private takePending(): string {
    const raw = (this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return raw;
  }

  private endLine(raw: string, next: number): void {
    const line = makeLine(this.nextLine, this.lineStart, raw);
    if (line.n % this.opts.indexEvery === 0) this.index[line.n / this.opts.indexEvery] = line.offset;
    this.nextLine++;
    this.lineStart = next;
    this.ring.push(line);
    this.emit('line', line);
  }

  /** Up to `count` lines from line `from` (or from the first line, if `from` is before it): from the ring while it has them, else from the file. */
  async readLines(from: number, count: number): Promise<TailLine[]> {
    const start = Math.max(from, this.first ?? -Infinity);
    const end = Math.min(start + count, this.nextLine);
    if (end <= start) return [];
    const inRing = this.nextLine - this.ring.size;
    if (start >= inRing) return this.ring.last(this.nextLine - start).slice(0, end - start);
    const fd = this.fd;
    if (!fd) return [];
    const generation = this.generation;
    const at = await this.locate(fd, start);
    if (!at || generation !== this.generation) return [];
    // Before the start of the file: the lines from its first one.
    const first = Math.max(start, at.line);
    const last = Math.min(first + (end - start), this.nextLine);
    const lines = await this.readForward(fd, at.offset, at.line, last - at.line);
    return lines.filter((l) => l.n >= first);
  }

  /** The offset of line n (or of the first line, if n is before the start of the file). */
  private async locate(fd: FileHandle, n: number): Promise<{line: number; offset: number} | undefined> {
    const every = this.opts.indexEvery;
    if (n >= 0) {
      const k = Math.floor(n / every);
      const offset = this.index[k];
      return offset === undefined ? undefined : {line: k * every, offset};
    }
    const k = Math.min(Math.floor(-n / every), this.back.length - 1);
    return this.scanBack(fd, {line: -k * every, offset: this.back[k]!}, n);
  }

  private async scanBack(fd: FileHandle, cur: {line: number; offset: number}, target: number): Promise<{line: number; offset: number}> {
    let end = cur.offset - 1; // the byte before a line start is the newline ending the previous line
    const buf = Buffer.allocUnsafe(CHUNK);
    while (cur.line > target) {
      if (cur.offset === 0) {
        this.first = cur.line;
        break;
      }
      if (end <= 0) {
        cur = this.noteBack(cur.line - 1, 0);
        this.first = cur.line;
        break;
      }
      const from = Math.max(0, end - CHUNK);
      const {bytesRead} = await fd.read(buf, 0, end - from, from);
      let i = bytesRead;
      while (cur.line > target && i > 0) {
        const j = buf.subarray(0, i).lastIndexOf(10);
        if (j < 0) break;
        cur = this.noteBack(cur.line - 1, from + j + 1);
        i = j;
      }
      end = from; // [from, from + i) holds no newline any more
    }
    return cur;
  }

  private noteBack(line: number, offset: number): {line: number; offset: number} {
    if (-line % this.opts.indexEvery === 0) this.back[-line / this.opts.indexEvery] = offset;
    return {line, offset};
  }

  /** Complete lines from `offset`, never past the line being assembled. */
  private async readForward(fd: FileHandle, offset: number, firstN: number, count: number): Promise<TailLine[]> {
    const out: TailLine[] = [];
    const limit = this.lineStart;
    const buf = Buffer.allocUnsafe(CHUNK);
    let parts: Buffer[] = [];
    let size = 0;
    let lineStart = offset;
    let pos = offset;
    while (out.length < count && pos < limit) {
      const {bytesRead} = await fd.read(buf, 0, Math.min(CHUNK, limit - pos), pos);
      if (!bytesRead) break;
      let p = 0;
      while (out.length < count && p < bytesRead) {
        const nl = buf.subarray(0, bytesRead).indexOf(10, p);
        const stop = nl < 0 ? bytesRead : nl;
        if (size < this.opts.maxLineBytes) {
          const part = Buffer.from(buf.subarray(p, Math.min(stop, p + this.opts.maxLineBytes - size)));
          parts.push(part);
          size += part.length;
        }
        if (nl < 0) break;
        out.push(makeLine(firstN + out.length, lineStart, Buffer.concat(parts).toString('utf8')));
        parts = [];
        size = 0;
        lineStart = pos + nl + 1;
        p = nl + 1;
      }
      pos += bytesRead;
    }
    return out;
  }
}

function makeLine(n: number, offset: number, raw: string): TailLine {
  const text = displayText(raw);
  return {n, offset, raw, text: text === raw ? raw : text};
}
