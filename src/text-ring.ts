// The last lines of a stream kept as UTF-8 in one fixed buffer, with their offsets in typed
// arrays: no JavaScript object per line. A Ring of strings under a flood of lines (a guest writing
// 50,000 lines a second) keeps every line alive just long enough to be copied by each young-
// generation collection and promoted, and the heap grows by tens of MB; here the lines live off
// the heap and a line is decoded again only when it is shown.
export class TextRing {
  private readonly buf: Buffer;
  private readonly starts: Float64Array; // absolute byte position of line k at k % maxLines
  private readonly lengths: Uint32Array;
  private head = 0; // absolute byte position of the next write
  private first = 0; // number of the oldest line kept
  /** Lines ever pushed. */
  total = 0;

  constructor(readonly maxLines: number, readonly maxBytes = maxLines * 256) {
    this.buf = Buffer.alloc(maxBytes);
    this.starts = new Float64Array(maxLines);
    this.lengths = new Uint32Array(maxLines);
  }

  /** Lines kept now. */
  get size(): number {
    return this.total - this.first;
  }

  push(text: string): void {
    const cap = this.buf.length;
    let at = this.head % cap;
    // A line never wraps around the end of the buffer: if it might not fit, it starts at 0.
    if (at > 0 && text.length * 3 > cap - at && Buffer.byteLength(text) > cap - at) {
      this.head += cap - at;
      at = 0;
    }
    const written = this.buf.write(text, at, 'utf8'); // a line longer than the buffer is cut
    const slot = this.total % this.maxLines;
    this.starts[slot] = this.head;
    this.lengths[slot] = written;
    this.head += written;
    this.total++;
    const oldest = this.head - cap;
    while (this.first < this.total && (this.total - this.first > this.maxLines || this.starts[this.first % this.maxLines]! < oldest)) this.first++;
  }

  /** `count` lines from the kept line `from` (0 is the oldest kept), oldest first. */
  slice(from: number, count: number): string[] {
    const start = this.first + Math.max(0, from);
    const end = Math.min(this.total, start + Math.max(0, count));
    const out: string[] = [];
    const cap = this.buf.length;
    for (let k = start; k < end; k++) {
      const slot = k % this.maxLines;
      const at = this.starts[slot]! % cap;
      out.push(this.buf.toString('utf8', at, at + this.lengths[slot]!));
    }
    return out;
  }

  /** The last `n` lines, oldest first. */
  last(n = this.size): string[] {
    return this.slice(this.size - Math.min(n, this.size), n);
  }

  clear(): void {
    this.head = this.first = this.total = 0;
  }
}
