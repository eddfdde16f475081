// The log pane's reader: any line of the file, forward and backward, with filters, read on demand.
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {ArraySource, FileSource, type Condition} from '../src/vm/log-source.js';
import {tempDir} from './helpers/tools.js';

const tmp = tempDir('tdxw-source-');
afterAll(() => tmp.remove());

function both(lines: string[], name: string) {
  const path = join(tmp.path, name);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''));
  return {file: new FileSource(path), array: new ArraySource(lines)};
}

describe('FileSource', () => {
  // Lines of every length, some longer than a read, so lines cross chunk edges.
  const lines = Array.from({length: 30_000}, (_, i) => `[${i}] ${i % 7 === 0 ? 'error: x' : i % 5 === 0 ? 'warning y' : 'info'} ${'z'.repeat((i * 37) % 300)}`);
  lines[12_345] = `long ${'L'.repeat(3 * 1024 * 1024)} end`;
  const {file, array} = both(lines, 'a.log');
  const texts = (ls: {text: string}[]) => ls.map((l) => l.text.slice(0, 40));
  const filters: Condition[][] = [[], [{re: /error/i}], [{re: /error/i, invert: true}], [{re: /warn/}, {re: /\[1\d*\]/, invert: true}]];

  it('reads the same lines as the array, both ways, under every filter', () => {
    for (const where of filters) {
      const all = array.forward(0, Infinity, where);
      const got = file.forward(0, Infinity, where);
      expect(texts(got)).toEqual(texts(all));
      expect(texts(file.backward(file.end(), 50, where))).toEqual(texts(all.slice(-50)));
      // From the middle of the file (a line start), back and forth.
      const mid = got[Math.floor(got.length / 2)]!;
      expect(texts(file.backward(mid.at, 3, where))).toEqual(texts(all.slice(Math.floor(all.length / 2) - 3, Math.floor(all.length / 2))));
      expect(texts(file.forward(mid.at, 3, where))).toEqual(texts(all.slice(Math.floor(all.length / 2), Math.floor(all.length / 2) + 3)));
    }
    expect(file.forward(0, 1)[0]!.text).toBe('[0] error: x ');
    // Back across the line longer than a read: it is one line, shown from its start.
    const after = file.forward(0, 12_347).at(-1)!;
    expect(file.backward(after.at, 2).map((l) => l.text.slice(0, 12))).toEqual(['[12344] info', 'long LLLLLLL']);
  });

  it('a scan with a limit stops early and goes on where it stopped: in steps, the same lines as in one go, both ways', () => {
    for (const where of filters) {
      const all = texts(file.forward(0, Infinity, where));
      for (const limit of [100_000, 1_000_000]) {
        const ahead: string[] = [];
        let steps = 0;
        for (let pos = 0; pos < file.end(); steps++) {
          ahead.push(...texts(file.forward(pos, Infinity, where, limit)));
          expect(file.stopped()).toBeGreaterThan(pos); // always progress
          pos = file.stopped();
        }
        expect(ahead).toEqual(all);
        expect(steps).toBeGreaterThan(3); // it did stop early
        const back: string[] = [];
        for (let pos = file.end(); pos > 0; ) {
          back.unshift(...texts(file.backward(pos, Infinity, where, 0, limit)));
          expect(file.stopped()).toBeLessThan(pos);
          pos = file.stopped();
        }
        expect(back).toEqual(all);
      }
      // Enough found: stopped() is past the last line found, forward, and at the first found, backward.
      const three = file.forward(0, 3, where, 1_000_000);
      expect(file.stopped()).toBe(three.at(-1)!.next);
      const last = file.backward(file.end(), 2, where, 0, 1_000_000);
      expect(file.stopped()).toBe(last[0]!.at);
    }
  });

  it('does not show a line still being written', () => {
    const path = join(tmp.path, 'b.log');
    writeFileSync(path, 'one\ntwo\nthr');
    const src = new FileSource(path);
    expect(src.backward(src.end(), 10).map((l) => l.text)).toEqual(['one', 'two']);
  });
});
