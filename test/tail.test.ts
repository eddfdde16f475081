import {appendFileSync, closeSync, openSync, renameSync, rmSync, truncateSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {displayText, lineFinder, LogTail, type TailLine} from '../src/vm/tail.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const tails: LogTail[] = [];
beforeAll(() => (tmp = tempDir('tdxw-tail-')));
afterEach(async () => {
  await Promise.all(tails.splice(0).map((t) => t.stop()));
});
afterAll(() => tmp.remove());

function file(): string {
  return join(tmp.path, `log-${n++}.txt`);
}

async function follow(path: string, options: ConstructorParameters<typeof LogTail>[1] = {}) {
  const tail = new LogTail(path, {pollMs: 50, ...options});
  tails.push(tail);
  const lines: TailLine[] = [];
  const events: string[] = [];
  tail.on('line', (l) => lines.push(l));
  tail.on('restarted', ({reason}) => events.push(`restarted:${reason}`));
  tail.on('waiting', () => events.push('waiting'));
  tail.on('opened', ({skippedBytes}) => events.push(`opened:${skippedBytes}`));
  await tail.start();
  return {tail, lines, events};
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const texts = (lines: TailLine[]) => lines.map((l) => l.text);

describe('following a log', () => {
  it('reads what is there, then what is appended, by line number and byte offset', async () => {
    const path = file();
    writeFileSync(path, 'one\ntwo\n');
    const {lines} = await follow(path);
    expect(texts(lines)).toEqual(['one', 'two']);
    appendFileSync(path, 'three\nfour');
    await until('three', () => lines.length === 3);
    appendFileSync(path, ' and more\n');
    await until('four', () => lines.length === 4);
    expect(lines.map((l) => [l.n, l.offset, l.text])).toEqual([
      [0, 0, 'one'],
      [1, 4, 'two'],
      [2, 8, 'three'],
      [3, 14, 'four and more'],
    ]);
  });

  it('decodes UTF-8 characters split across writes', async () => {
    const path = file();
    writeFileSync(path, '');
    const {lines, tail} = await follow(path);
    const text = 'Ünïcödé 🚀 ok\n';
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i++) {
      appendFileSync(path, bytes.subarray(i, i + 1));
      await tail.catchUp(); // one byte per read: every multi-byte character is split
    }
    await until('line', () => lines.length === 1);
    expect(lines[0]!.text).toBe('Ünïcödé 🚀 ok');
    expect(lines[0]!.text).not.toContain('\ufffd');
  });

  it('keeps the raw text and shows it without control sequences', async () => {
    const path = file();
    writeFileSync(path, '\x1b[0;32m[  OK  ]\x1b[0m Mounted /var/snap.\r\nprogress 10%\rprogress 100%\r\n\x1b]0;title\x07tab\there\x07\n');
    const {lines} = await follow(path);
    expect(texts(lines)).toEqual(['[  OK  ] Mounted /var/snap.', 'progress 100%', 'tab here']);
    expect(lines[0]!.raw).toBe('\x1b[0;32m[  OK  ]\x1b[0m Mounted /var/snap.\r');
    expect(displayText('plain')).toBe('plain');
  });

  it('starts over when the log is truncated (QEMU does it on every launch)', async () => {
    const path = file();
    writeFileSync(path, 'boot 1 line a\nboot 1 line b\n');
    const {lines, events, tail} = await follow(path);
    await until('boot 1', () => lines.length === 2);
    truncateSync(path, 0);
    appendFileSync(path, 'boot 2\n');
    await until('boot 2', () => lines.length === 3);
    expect(events).toContain('restarted:truncated');
    expect(lines[2]).toMatchObject({n: 0, offset: 0, text: 'boot 2'});
    expect(texts(tail.recent())).toEqual(['boot 2']);
    expect(tail.generation).toBe(1);
  });

  it('reopens a replaced log', async () => {
    const path = file();
    writeFileSync(path, 'old file\n');
    const {lines, events} = await follow(path);
    writeFileSync(`${path}.new`, 'new file line 1\nnew file line 2\n');
    renameSync(`${path}.new`, path);
    await until('new file', () => lines.length === 3);
    expect(events).toContain('restarted:replaced');
    expect(texts(lines)).toEqual(['old file', 'new file line 1', 'new file line 2']);
    appendFileSync(path, 'appended to the new one\n');
    await until('append', () => lines.length === 4);
  });

  it('waits for a log that does not exist yet', async () => {
    const path = file();
    const {lines, events} = await follow(path);
    expect(events).toEqual(['waiting']);
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(path, 'first words\n');
    await until('first words', () => lines.length === 1);
    expect(events).toEqual(['waiting', 'opened:0']);
    rmSync(path);
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(path, 'after removal\n');
    await until('after removal', () => lines.length === 2);
    expect(events).toContain('restarted:replaced');
  });

  it('a stop while it is still opening the log leaves no watcher and no poll behind (the wizard could not exit)', async () => {
    const path = file();
    writeFileSync(path, 'one\ntwo\n'.repeat(50_000));
    const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEvent' || r === 'Timeout').length;
    const before = handles();
    for (const delay of [0, 0, 1, 2, 5]) {
      const tail = new LogTail(path, {pollMs: 50});
      const started = tail.start();
      if (delay) await new Promise((r) => setTimeout(r, delay));
      await tail.stop();
      await started;
      await new Promise((r) => setTimeout(r, 120)); // two polls' worth: a poll left running would still be there
      expect(handles()).toBeLessThanOrEqual(before); // none added (one of the runner's own may have ended)
    }
  });

  it('emits an unterminated last line only when asked to finish', async () => {
    const path = file();
    writeFileSync(path, 'done\nno newline');
    const tail = new LogTail(path);
    tails.push(tail);
    await tail.catchUp();
    expect(texts(tail.recent())).toEqual(['done']);
    await tail.catchUp(true);
    expect(texts(tail.recent())).toEqual(['done', 'no newline']);
  });
});

describe('bounded memory: ring, sparse index, reading back', () => {
  it('with select, lines it cannot match are counted, not emitted, and still read back by number and offset', async () => {
    const path = file();
    const quiet = (from: number, n: number) => Array.from({length: n}, (_, i) => `line ${from + i}\n`).join('');
    writeFileSync(path, quiet(0, 50));
    const tail = new LogTail(path, {ringSize: 10, indexEvery: 7, select: /HINT/});
    tails.push(tail);
    const lines: string[] = [];
    const events: string[] = [];
    let skipped = 0;
    tail.on('line', (l) => (lines.push(l.text), events.push(l.text)));
    tail.on('skipped', (n) => ((skipped += n), events.push(`skipped ${n}`)));
    await tail.catchUp();
    expect([skipped, lines]).toEqual([50, []]);
    appendFileSync(path, `line 50\nHINT at 51\n${quiet(52, 3)}part`);
    await tail.catchUp();
    // Only the line that may match is decoded; the lines around it are counted, in order.
    expect(events.slice(1)).toEqual(['skipped 1', 'HINT at 51', 'skipped 3']);
    expect(tail.recent().map((l) => [l.n, l.text])).toEqual([]); // the ring holds only the lines after the last count
    appendFileSync(path, ` of 55\n${quiet(56, 4)}`);
    await tail.catchUp();
    expect(lines.at(-1)).toBe('part of 55'); // the line begun in the last read, then a count
    expect([skipped, tail.lineCount]).toEqual([58, 60]);
    const back = await tail.readLines(0, 60);
    expect(back.map((l) => l.text)).toEqual(Array.from({length: 60}, (_, i) => (i === 51 ? 'HINT at 51' : i === 55 ? 'part of 55' : `line ${i}`)));
    expect(back.map((l) => l.n)).toEqual(Array.from({length: 60}, (_, i) => i));
  });

  it('with select, emits the lines whose plain text it matches, and counts the rest without decoding them', async () => {
    const path = file();
    const body = [
      'plain 0',
      'é accents, then HINT after multibyte text', // found at its byte offset
      'plain 2',
      '\x1b[0;32m[  OK  ]\x1b[0m coloured', // looked at (an escape may split a hint's words), then counted
      'C1 \u009b31m control', // UTF-8 0xc2 0x9b: the same
      '\x1b[1mHI\x1b[0mNT split by colours',
      'HI\rNT over-written', // the hints read "HINT over-written"; a terminal shows "NT over-written"
      'plain 7\r', // QEMU's CRLF: counted
      'ends with HINT',
    ];
    writeFileSync(path, `${body.join('\n')}\n`);
    const tail = new LogTail(path, {ringSize: 10, select: /HINT/});
    tails.push(tail);
    const events: string[] = [];
    tail.on('line', (l) => events.push(`${l.n}: ${l.text}`));
    tail.on('skipped', (n) => events.push(`skipped ${n}`));
    await tail.catchUp();
    expect(events).toEqual(['skipped 1', '1: é accents, then HINT after multibyte text', 'skipped 3', '5: HINT split by colours', '6: NT over-written', 'skipped 1', '8: ends with HINT']);
    expect(tail.recent().map((l) => l.n)).toEqual([8]);
    expect((await tail.readLines(0, 9)).map((l) => l.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await tail.readLines(3, 2)).map((l) => l.text)).toEqual(['[  OK  ] coloured', 'C1  control']);
  });

  it('with a select pattern of non-ASCII text, finds it in the decoded text', async () => {
    const path = file();
    writeFileSync(path, 'plain\nthe volume is café\nplain\n');
    const tail = new LogTail(path, {select: /café/});
    tails.push(tail);
    const events: string[] = [];
    tail.on('line', (l) => events.push(l.text));
    tail.on('skipped', (n) => events.push(`skipped ${n}`));
    await tail.catchUp();
    expect(events).toContain('the volume is café');
  });

  it('reads back lines that left the ring', async () => {
    const path = file();
    writeFileSync(path, Array.from({length: 100}, (_, i) => `line ${i} ${'é'.repeat(i % 5)}`).join('\n') + '\n');
    const tail = new LogTail(path, {ringSize: 10, indexEvery: 7});
    tails.push(tail);
    await tail.catchUp();
    expect(tail.recent()).toHaveLength(10);
    expect(tail.lineCount).toBe(100);
    const back = await tail.readLines(3, 20);
    expect(texts(back)).toEqual(Array.from({length: 20}, (_, i) => `line ${i + 3} ${'é'.repeat((i + 3) % 5)}`));
    expect(back.map((l) => l.n)).toEqual(Array.from({length: 20}, (_, i) => i + 3));
    expect(texts(await tail.readLines(95, 10))).toEqual(['line 95 ', 'line 96 é', 'line 97 éé', 'line 98 ééé', 'line 99 éééé']);
    expect(texts(await tail.readLines(-5, 3))).toEqual(['line 0 ', 'line 1 é', 'line 2 éé']);
  });

  it('opens a large file near its end and reads earlier lines on demand, backwards', async () => {
    const path = file();
    const all = Array.from({length: 5000}, (_, i) => `serial line ${i}`);
    writeFileSync(path, `${all.join('\n')}\n`);
    const tail = new LogTail(path, {initialBytes: 1000, indexEvery: 100});
    tails.push(tail);
    const opened: number[] = [];
    tail.on('opened', ({skippedBytes}) => opened.push(skippedBytes));
    await tail.catchUp();
    const shown = tail.recent();
    const firstShown = all.indexOf(shown[0]!.text);
    expect(shown[0]!.n).toBe(0);
    expect(opened[0]).toBe(Buffer.byteLength(all.slice(0, firstShown).join('\n')) + 1);
    expect(texts(shown)).toEqual(all.slice(firstShown));
    expect(tail.firstLine).toBeUndefined();
    expect(texts(await tail.readLines(-3, 3))).toEqual(all.slice(firstShown - 3, firstShown));
    expect(texts(await tail.readLines(-1234, 5))).toEqual(all.slice(firstShown - 1234, firstShown - 1229));
    const start = await tail.readLines(-100000, 2);
    expect(texts(start)).toEqual(['serial line 0', 'serial line 1']);
    expect(tail.firstLine).toBe(-firstShown);
    expect(start[0]).toMatchObject({n: -firstShown, offset: 0});
  });

  it('a 1 GiB log: opens at once, reads back, follows a few hundred MB more in bounded memory', async () => {
    const path = file();
    const block = makeBlock(0);
    const fd = openSync(path, 'w');
    const blocks = Math.ceil(2 ** 30 / block.length);
    for (let i = 0; i < blocks; i++) writeSync(fd, block);
    closeSync(fd);

    const gc = exposeGc();
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const tail = new LogTail(path, {pollMs: 100});
    tails.push(tail);
    let count = 0;
    let last = '';
    tail.on('line', (l) => {
      count++;
      last = l.text;
    });
    await tail.start();
    const openMs = Date.now() - t0;
    const windowLines = count;
    expect(windowLines).toBe(Math.floor(64 * 1024 / 100));
    expect(openMs).toBeLessThan(1000);
    expect(tail.bytesRead).toBe(blocks * block.length);
    expect(texts(await tail.readLines(-3, 3))).toHaveLength(3);

    // Follow while ~256 MiB are appended in 4 MiB writes.
    const more = makeBlock(1);
    const appendBytes = 256 * 2 ** 20;
    const t1 = Date.now();
    const wfd = openSync(path, 'a');
    let peakHeap = 0;
    let appended = 0;
    for (let written = 0; written < appendBytes; written += more.length) {
      writeSync(wfd, more);
      appended++;
      if (appended % 4 === 0) {
        await tail.catchUp();
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }
    }
    closeSync(wfd);
    await tail.catchUp();
    const followMs = Date.now() - t1;
    expect(count - windowLines).toBe(appended * 41943);
    expect(last).toMatch(/^b1 line \d+ /);
    const older = await tail.readLines(tail.lineCount - 2_000_000, 2);
    expect(older[0]!.text).toMatch(/^b1 line \d+ /);
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heap0;
    const rssGrowth = process.memoryUsage().rss - rss0;
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    console.log(
      `1 GiB log: opened in ${openMs} ms; followed ${mb(appended * more.length)} MiB (${count} lines) in ${followMs} ms; ` +
        `heap growth ${mb(heapGrowth)} MiB (peak +${mb(peakHeap - heap0)} MiB), RSS growth ${mb(rssGrowth)} MiB`,
    );
    expect(heapGrowth).toBeLessThan(32 * 2 ** 20);
    expect(peakHeap - heap0).toBeLessThan(128 * 2 ** 20);
    expect(rssGrowth).toBeLessThan(200 * 2 ** 20);
    await tail.stop();
    rmSync(path);
  }, 180_000);
});

/** About 4 MiB of 100-byte lines, every tenth one coloured. */
function makeBlock(tag: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 41943; i++) {
    const head = i % 10 ? `b${tag} line ${i} ` : `\x1b[0;32mb${tag} line ${i}\x1b[0m `;
    lines.push(head + 'x'.repeat(99 - head.length));
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('batched reads (batchMs)', () => {
  it('a writer appending every 2 ms is read in a pass per window, every line in order', async () => {
    const path = file();
    writeFileSync(path, 'first\n');
    // pollMs high: only file-change events read (the poll would add passes of its own).
    const {tail, lines} = await follow(path, {batchMs: 40, pollMs: 60_000});
    let passes = 0;
    const catchUp = tail.catchUp.bind(tail);
    tail.catchUp = (final?: boolean) => {
      passes++;
      return catchUp(final);
    };
    await new Promise((r) => setTimeout(r, 100)); // quiet
    const fd = openSync(path, 'a');
    for (let i = 0; i < 60; i++) {
      writeSync(fd, `line ${i}\n`);
      await new Promise((r) => setTimeout(r, 2));
    }
    closeSync(fd);
    await until('every line', () => lines.length === 61);
    expect(lines.map((l) => l.text)).toEqual(['first', ...Array.from({length: 60}, (_, i) => `line ${i}`)]);
    // 60 writes over >= 120 ms: a pass at the first, then one per 40 ms window (unbatched: one per change event).
    expect(passes).toBeGreaterThanOrEqual(2);
    expect(passes).toBeLessThanOrEqual(15);
  });
});

describe('lineFinder: the select pattern over a read decoded as Latin-1', () => {
  it('takes ASCII text, escaped punctuation, \\d \\w \\b and ASCII classes; refuses what counts characters or is not ASCII', () => {
    for (const ok of [/HINT/, /Linux version \d/, /a\.b \(x\)|\bword\w+/, /[A-Z]+ found/, /x/i]) expect(lineFinder(ok), ok.source).not.toBeNull();
    for (const no of [/caf./, /café/, /a\Sb/, /a\sb/, /a[^x]b/, /a{3}/, /\u00e9/, /x/u, /a\Wb/]) expect(lineFinder(no), no.source).toBeNull();
  });
});
