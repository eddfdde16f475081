/** A fixed-capacity buffer that keeps the most recent items and counts everything ever pushed. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;
  total = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    this.total++;
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
  }

  get size(): number {
    return this.items.length;
  }

  /** The last `n` items, oldest first. */
  last(n = this.items.length): T[] {
    const count = Math.min(n, this.items.length);
    const out: T[] = new Array(count);
    const len = this.items.length;
    for (let i = 0; i < count; i++) out[i] = this.items[(this.start + len - count + i) % len]!;
    return out;
  }

  clear(): void {
    this.items.length = 0;
    this.start = 0;
    this.total = 0;
  }
}
