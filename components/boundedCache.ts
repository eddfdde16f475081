// A cache of at most `limit` entries and `maxChars` characters of keys (and of string values), the
// least recently used going first: for Ink's text caches, which otherwise keep every text a frame
// ever showed (see inkMeasureText.ts). A log pane's frame is one text of about 3 KB that never
// comes back: counting entries alone, a thousand of them stayed (3 MB; more for texts that were
// wrapped too, whose key and result are kept). A text over the whole budget is not kept at all.
export const CACHE_CHARS = 128 * 1024;

export class BoundedCache<V> {
  private readonly entries = new Map<string, V>();
  private held = 0;

  constructor(
    private readonly limit: number,
    private readonly maxChars = CACHE_CHARS,
  ) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key); // to the end: the most recently used
      this.entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    const weight = charsOf(key, value);
    if (weight > this.maxChars) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.held -= charsOf(key, old);
    }
    while (this.entries.size && (this.entries.size >= this.limit || this.held + weight > this.maxChars)) {
      const [oldest, oldValue] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.held -= charsOf(oldest, oldValue);
    }
    this.entries.set(key, value);
    this.held += weight;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Characters held, keys and string values. */
  get chars(): number {
    return this.held;
  }
}

function charsOf(key: string, value: unknown): number {
  return key.length + (typeof value === 'string' ? value.length : 0);
}
