import {describe, expect, it} from 'vitest';
import {TextRing} from '../src/text-ring.js';

describe('TextRing', () => {
  it('keeps the last lines, oldest first, and counts every push', () => {
    const ring = new TextRing(3, 1024);
    for (const line of ['a', 'b', 'c', 'd', 'e']) ring.push(line);
    expect(ring.size).toBe(3);
    expect(ring.total).toBe(5);
    expect(ring.last()).toEqual(['c', 'd', 'e']);
    expect(ring.last(2)).toEqual(['d', 'e']);
    expect(ring.slice(1, 5)).toEqual(['d', 'e']);
    expect(ring.slice(0, 0)).toEqual([]);
  });

  it('drops the oldest lines when their bytes are overwritten, never returning a torn line', () => {
    const ring = new TextRing(1000, 64);
    const lines = Array.from({length: 200}, (_, i) => `line ${i} é€😀`);
    for (const line of lines) ring.push(line);
    const kept = ring.last();
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(10);
    expect(kept).toEqual(lines.slice(-kept.length));
  });

  it('cuts a line longer than the buffer and starts over cleanly', () => {
    const ring = new TextRing(10, 16);
    ring.push('x'.repeat(40));
    expect(ring.last()).toEqual(['x'.repeat(16)]);
    ring.push('short');
    expect(ring.last()).toEqual(['short']);
    ring.clear();
    expect(ring.size).toBe(0);
    ring.push('again');
    expect(ring.last()).toEqual(['again']);
  });
});
