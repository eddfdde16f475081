import {readFileSync} from 'node:fs';
import {describe, expect, it} from 'vitest';
import {LineDiscipline} from '../src/runner/lines.js';
import {parseProgress} from '../src/runner/progress.js';

function feed(chunks: Array<string | Uint8Array>): {lines: string[]; partials: string[]} {
  const lines: string[] = [];
  const partials: string[] = [];
  const d = new LineDiscipline({line: (t) => lines.push(t), partial: (t) => partials.push(t)});
  for (const c of chunks) d.write(c);
  d.end();
  return {lines, partials};
}

/** Every way to cut a buffer in two. */
function everySplit(buf: Buffer): Buffer[][] {
  return Array.from({length: buf.length + 1}, (_, i) => [buf.subarray(0, i), buf.subarray(i)]);
}

describe('line discipline', () => {
  it('turns recorded qemu-img -p output into one progress line and reports progress', () => {
    const raw = readFileSync('test/fixtures/output/qemu-img-convert-p.txt');
    const {lines, partials} = feed([raw]);
    expect(lines).toEqual(['    (100.00/100%)']);
    const fractions = partials.map((p) => parseProgress('qemu-img', p)).filter((f) => f !== undefined);
    expect(fractions.at(-1)).toBe(1);
  });

  it('gives the same qemu-img progress when chunks split anywhere', () => {
    const raw = readFileSync('test/fixtures/output/qemu-img-convert-p.txt');
    for (const parts of everySplit(raw.subarray(0, 80))) {
      expect(feed(parts).lines).toEqual(feed([raw.subarray(0, 80)]).lines);
    }
  });

  it('applies the backspaces of a recorded mke2fs run', () => {
    const raw = readFileSync('test/fixtures/output/mke2fs-200G.txt');
    const {lines} = feed([raw]);
    expect(lines).toContain('Writing inode tables: done');
    expect(lines).toContain('Writing superblocks and filesystem accounting information: done');
    expect(lines.join('\n')).not.toMatch(/[\b\r\x1b]/);
    expect(lines[4]).toBe('        32768, 98304, 163840, 229376, 294912, 819200, 884736, 1605632, 2654208,'); // tab expanded
  });

  it('reads mke2fs progress from the in-place counter', () => {
    expect(parseProgress('mke2fs', 'Writing inode tables:  800/1600')).toBeCloseTo((1 + 0.5) / 4);
    expect(parseProgress('mke2fs', 'Allocating group tables:    0/1600')).toBe(0);
    expect(parseProgress('mke2fs', 'Creating filesystem with 52428800 4k blocks')).toBeUndefined();
  });

  it('reads resize2fs -p bars', () => {
    expect(parseProgress('resize2fs', 'Relocating blocks      XXXXXXXXXXXXXXXXXXXX--------------------')).toBe(0.5);
    expect(parseProgress('resize2fs', 'Begin pass 2 (max = 32768)')).toBeUndefined();
  });

  it('keeps colour, drops cursor moves and OSC titles, also split across chunks', () => {
    const text = '\x1b]0;title\x07\x1b[2J\x1b[H\x1b[0;31mERROR:\x1b[0m disk\x1b[K gone\n';
    const whole = feed([text]).lines;
    expect(whole).toEqual(['\x1b[0;31mERROR:\x1b[0m disk gone']);
    for (let i = 0; i <= text.length; i++) expect(feed([text.slice(0, i), text.slice(i)]).lines).toEqual(whole);
  });

  it('decodes UTF-8 split inside a character', () => {
    const buf = Buffer.from('label é€😀 ok\n', 'utf8');
    for (const parts of everySplit(buf)) expect(feed(parts).lines).toEqual(['label é€😀 ok']);
  });

  it('treats CRLF as one newline even across chunks, and \\r alone as replace', () => {
    expect(feed(['a\r', '\nb\r\n']).lines).toEqual(['a', 'b']);
    expect(feed(['10%\r20%\r', '30%\n']).lines).toEqual(['30%']);
    expect(feed(['done\r\n']).lines).toEqual(['done']);
  });

  it('drops other control characters and cuts runaway lines', () => {
    expect(feed(['a\x00b\x07c\x7fd\n']).lines).toEqual(['abcd']);
    const {lines} = feed(['x'.repeat(10000)]);
    expect(lines.length).toBe(3);
    expect(lines.join('')).toBe('x'.repeat(10000));
  });
});
