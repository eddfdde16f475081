// Ink keeps every text it ever measured (measure-text.js) and wrapped (wrap-text.js) in caches that
// never shrink: under a flood of serial lines every frame of the log pane is a new text, so the
// pane's memory grew by each frame for as long as it ran. The bundle swaps both modules for ones
// with bounded caches (scripts/bundle-options.mjs) that give the same answers; that the bundle
// uses them is checked in bundle-graph.test.ts.
import {describe, expect, it} from 'vitest';
import inkMeasureText from '../node_modules/ink/build/measure-text.js';
import inkWrapText from '../node_modules/ink/build/wrap-text.js';
import measureText, {measured} from '../components/inkMeasureText.js';
import wrapText, {wrapped} from '../components/inkWrapText.js';
import {BoundedCache, CACHE_CHARS} from '../components/boundedCache.js';

const SAMPLES = ['', 'plain', 'two\nlines', '\x1b[31mred\x1b[39m text', '日本語 wide', 'a much longer line that has to be wrapped or cut somewhere', 'e\u0301t\u00e9 ✔︎ 👍🏽'];

describe('bounded text caches for Ink', () => {
  it('measure as Ink measures', () => {
    for (const text of SAMPLES) expect(measureText(text), JSON.stringify(text)).toEqual(inkMeasureText(text));
  });

  it('wrap and cut as Ink does', () => {
    for (const text of SAMPLES) {
      for (const width of [1, 5, 12]) {
        for (const how of ['wrap', 'truncate', 'truncate-middle', 'truncate-start', 'end'] as const) expect(wrapText(text, width, how), `${JSON.stringify(text)} ${width} ${how}`).toBe(inkWrapText(text, width, how));
      }
    }
  });

  it('keep a bounded number of texts, whatever number of frames passes through them', () => {
    for (let frame = 0; frame < 20_000; frame++) {
      const text = `frame ${frame}\n${'serial line '.repeat(8)}${frame}`;
      measureText(text);
      wrapText(text, 40, 'wrap');
    }
    expect(measured.size).toBeLessThanOrEqual(1000);
    expect(wrapped.size).toBeLessThanOrEqual(1000);
  });

  // A log pane's frame is one text of 40 rows (about 3 KB): a thousand of them kept 3 MB in the
  // measure cache and 6 MB in the wrap cache (the key and the wrapped text), for frames that never
  // come back. The caches keep a bounded number of characters as well.
  it('keep a bounded number of characters when the texts are whole frames', () => {
    for (let frame = 0; frame < 200; frame++) {
      const text = Array.from({length: 40}, (_, row) => `[ ${frame}.${row}] systemd[1]: Started unit ${frame * 40 + row} of the flood, something to read`).join('\n');
      measureText(text);
      wrapText(text, 120, 'wrap');
    }
    expect(CACHE_CHARS).toBeLessThanOrEqual(256 * 1024);
    expect(measured.chars).toBeLessThanOrEqual(CACHE_CHARS);
    expect(wrapped.chars).toBeLessThanOrEqual(CACHE_CHARS);
    expect(measured.size).toBeGreaterThan(10); // still a cache
  });

  it('let the least recently used text go first, by count or by characters', () => {
    const cache = new BoundedCache<number>(3, 10);
    cache.set('aaaa', 1);
    cache.set('bbbb', 2);
    expect(cache.get('aaaa')).toBe(1); // now the most recently used
    cache.set('cccc', 3); // 12 characters: bbbb goes
    expect([cache.get('bbbb'), cache.get('aaaa'), cache.get('cccc')]).toEqual([undefined, 1, 3]);
    cache.set('a-text-longer-than-all', 4); // never kept: it alone is over the budget
    expect([cache.get('a-text-longer-than-all'), cache.size, cache.chars]).toEqual([undefined, 2, 8]);
    cache.set('d', 5);
    cache.set('e', 6); // 3 entries at most: aaaa goes
    expect([cache.get('aaaa'), cache.size, cache.chars]).toEqual([undefined, 3, 6]);
  });
});
