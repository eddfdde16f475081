// A read that holds several keys becomes those keys, as Ink reports each typed alone.
import type {Key} from 'ink';
import {describe, expect, it} from 'vitest';
import {NO_KEY, splitBurst, TYPED_BURST_MAX} from '../components/keyBurst.js';

const NONE = NO_KEY;
const named = (pairs: Array<[string, Key]>) => pairs.map(([input, key]) => [input, Object.entries(key).filter(([, v]) => v === true).map(([k]) => k).join('+')]);

describe('splitBurst', () => {
  it('leaves a single key as it is', () => {
    expect(splitBurst('a', NONE)).toEqual([['a', NONE]]);
    const ret = {...NONE, return: true};
    expect(splitBurst('', ret)).toEqual([['', ret]]);
    const up = {...NONE, upArrow: true};
    expect(splitBurst('', up)).toEqual([['', up]]);
  });

  it('splits a typed burst into its keys, in order, as Ink reports each key alone', () => {
    expect(named(splitBurst('\u0015new', NONE))).toEqual([['u', 'ctrl'], ['n', ''], ['e', ''], ['w', '']]);
    expect(named(splitBurst('ab\r', NONE))).toEqual([['a', ''], ['b', ''], ['', 'return']]);
    expect(named(splitBurst('a\u007f\tX', NONE))).toEqual([['a', ''], ['', 'delete'], ['', 'tab'], ['X', 'shift']]);
    expect(named(splitBurst('x\by', NONE))).toEqual([['x', ''], ['', 'backspace'], ['y', '']]);
    expect(named(splitBurst('\u0003\u0003', NONE))).toEqual([['c', 'ctrl'], ['c', 'ctrl']]);
    expect(named(splitBurst('/tdx', NONE))).toEqual([['/', ''], ['t', ''], ['d', ''], ['x', '']]);
    expect(named(splitBurst('jj', NONE))).toEqual([['j', ''], ['j', '']]);
    expect(named(splitBurst('é✔', NONE))).toEqual([['é', ''], ['✔', '']]); // characters, not UTF-16 halves
  });

  it('drops the control characters Ink gives no meaning (a pasted line feed joins the lines, as before)', () => {
    expect(splitBurst('a\nb', NONE).map(([i]) => i)).toEqual(['a', 'b']);
    expect(splitBurst('a\u0000b', NONE).map(([i]) => i)).toEqual(['a', 'b']);
  });

  it('keeps a long paste in runs of text, with its control characters still keys', () => {
    const seed = 'ab12'.repeat(100); // 400 characters: a paste
    expect(named(splitBurst(`${seed}\r`, NONE))).toEqual([[seed, ''], ['', 'return']]);
    expect(splitBurst(seed, NONE)).toEqual([[seed, NONE]]);
    expect(TYPED_BURST_MAX).toBeLessThan(seed.length);
  });
});
