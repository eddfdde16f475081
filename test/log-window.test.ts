// The log pane's window: what a paused view, the followed end under a filter, a search and a move
// find, in steps of a bounded scan between frames, so no frame and no key waits for a gigabyte.
import {describe, expect, it} from 'vitest';
import {ArraySource, type SourceLine} from '../src/vm/log-source.js';
import {LogWindow} from '../src/vm/log-window.js';

// 10,000 lines; "rare" on 3 of them. A step scans 500 positions of the array source.
const lines = Array.from({length: 10_000}, (_, i) => ([20, 5_000, 9_990].includes(i) ? `line ${i} rare` : `line ${i}`));
const rare = [{re: /rare/}];
const texts = (ls: SourceLine[]) => ls.map((l) => l.text);

function pumpAll(win: LogWindow): number {
  let steps = 0;
  while (win.pending()) {
    win.pump();
    steps++;
  }
  return steps;
}

describe('LogWindow', () => {
  it('a search far away runs in steps, says how far it has come, and reports once at the end', () => {
    const win = new LogWindow(new ArraySource(lines), 500);
    const found: SourceLine[][] = [];
    win.seek({label: 'searching /rare', from: 10_000, dir: -1, count: 1, where: [{re: /line 20 rare/}], done: (l) => found.push(l)});
    expect(found).toEqual([]); // not in the first step
    expect(win.pending()).toBe(true);
    expect(win.progress()).toMatch(/^searching \/rare: \d+% of the log$/);
    expect(pumpAll(win)).toBeGreaterThan(10);
    expect(found.map(texts)).toEqual([['line 20 rare']]);
    expect(win.progress()).toBeUndefined();
  });

  it('cancel stops a search: done is never called, and nothing is pending', () => {
    const win = new LogWindow(new ArraySource(lines), 500);
    let called = false;
    win.seek({label: 'searching /x', from: 0, dir: 1, count: 1, where: [{re: /never/}], done: () => (called = true)});
    win.pump();
    expect(win.cancel()).toBe('searching /x');
    expect(win.pending()).toBe(false);
    expect(pumpAll(win)).toBe(0);
    expect(called).toBe(false);
    expect(win.cancel()).toBeUndefined();
  });

  it('a search with nothing to find ends with no lines (a notice, not a wait forever)', () => {
    const win = new LogWindow(new ArraySource(lines), 500);
    const found: SourceLine[][] = [];
    win.seek({label: 's', from: 0, dir: 1, count: 1, where: [{re: /never/}], done: (l) => found.push(l)});
    pumpAll(win);
    expect(found).toEqual([[]]);
  });

  it('a short search finishes in its first step, before seek returns', () => {
    const win = new LogWindow(new ArraySource(lines), 500);
    const found: SourceLine[][] = [];
    win.seek({label: 's', from: 9_000, dir: -1, count: 2, where: [], done: (l) => found.push(l)});
    expect(found.map(texts)).toEqual([['line 8998', 'line 8999']]);
    expect(win.pending()).toBe(false);
  });

  it('following under a rare filter: the first frame has what one step found, the rest fills in steps, then only new lines are read', () => {
    const data = [...lines];
    const source = new ArraySource(data);
    const win = new LogWindow(source, 500);
    expect(texts(win.following(source.end(), 5, rare, 'k'))).toEqual(['line 9990 rare']); // what the first step found
    expect(win.pending()).toBe(true);
    expect(win.progress()).toMatch(/looking for matching lines: \d+% of the log/);
    pumpAll(win);
    expect(texts(win.following(source.end(), 5, rare, 'k'))).toEqual(['line 20 rare', 'line 5000 rare', 'line 9990 rare']);
    data.push('new rare one', 'plain');
    expect(texts(win.following(source.end(), 5, rare, 'k'))).toEqual(['line 20 rare', 'line 5000 rare', 'line 9990 rare', 'new rare one']);
    expect(win.pending()).toBe(false);
    // Another filter starts afresh.
    expect(texts(win.following(source.end(), 2, [], 'k2'))).toEqual(['new rare one', 'plain']);
  });

  it('paused under a rare filter: the view fills in steps from its top, and a growing log extends it', () => {
    const data = [...lines];
    const source = new ArraySource(data);
    const win = new LogWindow(source, 500);
    expect(texts(win.paused(0, source.end(), 5, rare, 'k'))).toEqual(['line 20 rare']);
    expect(win.pending()).toBe(true);
    pumpAll(win);
    expect(texts(win.paused(0, source.end(), 5, rare, 'k'))).toEqual(['line 20 rare', 'line 5000 rare', 'line 9990 rare']);
    data.push('late rare');
    expect(texts(win.paused(0, source.end(), 5, rare, 'k'))).toEqual(['line 20 rare', 'line 5000 rare', 'line 9990 rare', 'late rare']);
  });
});
