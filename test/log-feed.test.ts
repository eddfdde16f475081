// LogFeed: the serial log's events held until the log pane takes them, then handed over live.
import {appendFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {LogFeed, type LogEvent} from '../src/vm/log-feed.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('tdxw-feed-')));
afterAll(() => tmp.remove());

const brief = (e: LogEvent) => (e.type === 'line' ? e.line.text : e.type === 'skipped' ? `skipped ${e.count}` : e.type);
/** Every line as an event of its own (the pane's default decodes only lines that may hold a hint). */
const everyLine = {select: undefined};
const until = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('LogFeed', () => {
  it('start() resolves once the log has been read; take() hands over those events in order, then live ones', async () => {
    const file = join(tmp.path, 'a.log');
    writeFileSync(file, 'one\r\ntwo\r\nthree\r\n');
    const feed = new LogFeed(file, everyLine);
    await feed.start();
    const seen: string[] = [];
    feed.take((e) => seen.push(brief(e)));
    expect(seen).toEqual(['opened', 'one', 'two', 'three']); // synchronously, before any later event
    appendFileSync(file, 'four\r\n');
    await until(() => seen.includes('four'));
    await feed.stop();
    appendFileSync(file, 'five\r\n');
    await new Promise((r) => setTimeout(r, 400)); // past the tail's 300 ms poll
    expect(seen).toEqual(['opened', 'one', 'two', 'three', 'four']);
  });

  it('a missing log: start() resolves, and the pane is told it is waiting', async () => {
    const feed = new LogFeed(join(tmp.path, 'none.log'));
    await feed.start();
    const seen: string[] = [];
    feed.take((e) => seen.push(brief(e)));
    expect(seen).toEqual(['waiting']);
    await feed.stop();
  });

  it('a flood while nobody takes: at most 10,000 lines held, the newest; other events kept', async () => {
    const file = join(tmp.path, 'flood.log');
    writeFileSync(file, Array.from({length: 30_000}, (_, i) => `line ${i}\n`).join(''));
    const feed = new LogFeed(file, {fromStart: true, ...everyLine});
    await feed.start();
    const seen: string[] = [];
    feed.take((e) => seen.push(brief(e)));
    await feed.stop();
    expect(seen[0]).toBe('opened');
    expect(seen.length - 1).toBeLessThanOrEqual(10_000);
    expect(seen.length - 1).toBeGreaterThanOrEqual(5_000);
    expect(seen.at(-1)).toBe('line 29999');
    const first = Number(seen[1]!.split(' ')[1]);
    expect(seen.slice(1)).toEqual(Array.from({length: 30_000 - first}, (_, i) => `line ${first + i}`)); // no gap
  });

  it('start() twice reads once', async () => {
    const file = join(tmp.path, 'twice.log');
    writeFileSync(file, 'x\n');
    const feed = new LogFeed(file, everyLine);
    const a = feed.start();
    expect(feed.start()).toBe(a);
    await a;
    const seen: string[] = [];
    feed.take((e) => seen.push(brief(e)));
    expect(seen).toEqual(['opened', 'x']);
    await feed.stop();
  });

  it('by default only lines that may hold a hint or a boot banner come as lines; the others as counts, held as one', async () => {
    const file = join(tmp.path, 'select.log');
    const quiet = (n: number) => Array.from({length: n}, (_, i) => `quiet ${i}\r\n`).join('');
    writeFileSync(file, quiet(1000));
    const feed = new LogFeed(file, {fromStart: true});
    await feed.start();
    appendFileSync(file, quiet(500));
    await new Promise((r) => setTimeout(r, 400)); // past the tail's 300 ms poll: a second read, held
    const seen: string[] = [];
    feed.take((e) => seen.push(brief(e)));
    expect(seen).toEqual(['opened', 'skipped 1500']);
    appendFileSync(file, `${quiet(3)}[    0.000000] Linux version 6.8.0 (build)\r\n${quiet(2)}`);
    await until(() => seen.some((s) => s.includes('Linux version')));
    await until(() => seen.length >= 5);
    expect(seen.slice(2)).toEqual(['skipped 3', '[    0.000000] Linux version 6.8.0 (build)', 'skipped 2']); // only the banner decoded
    appendFileSync(file, `${quiet(2)}\x1b[31mquiet red\x1b[0m\r\n\x1b[1mLinux\x1b[0m version 6.9.0\r\n`);
    await until(() => seen.some((s) => s.includes('6.9.0'))); // colours inside the banner: its plain text matches
    expect(seen.slice(5)).toEqual(['skipped 3', 'Linux version 6.9.0']); // a coloured quiet line is counted
    await feed.stop();
  });
});
