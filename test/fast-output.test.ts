// components/fastOutput.ts stands in for Ink's screen buffer in the bundle: the same writes must
// give the same cells (character and effective style) as Ink's own Output, row by row, whether a
// row takes the fast path or not. And fastWidestLine measures as widest-line does.
import {describe, expect, it} from 'vitest';
import {reduceAnsiCodes, styledCharsFromTokens, tokenize} from '@alcalzone/ansi-tokenize';
import InkOutput from '../node_modules/ink/build/output.js';
import widestLineInk from 'widest-line';
import FastOutput, {simpleWidth} from '../components/fastOutput.js';
import widestLine from '../components/fastWidestLine.js';

type Op = ['write', number, number, string] | ['clip', {x1?: number; x2?: number; y1?: number; y2?: number}] | ['unclip'];

/** Each row as cells: the character and its styles (reduced), trailing unstyled blanks dropped. */
function cells(output: string): string[][] {
  return output.split('\n').map((row) => {
    const out = styledCharsFromTokens(tokenize(row)).map((c) => `${c.value}|${reduceAnsiCodes(c.styles).map((s) => s.code).sort().join(',')}`);
    while (out.at(-1) === ' |') out.pop();
    return out;
  });
}

function both(width: number, height: number, ops: Op[], transformers: Array<(line: string, index: number) => string> = []) {
  const ink = new InkOutput({width, height});
  const fast = new FastOutput({width, height});
  for (const o of [ink, fast] as Array<InkOutput | FastOutput>) {
    for (const op of ops) {
      if (op[0] === 'write') o.write(op[1], op[2], op[3], {transformers});
      else if (op[0] === 'clip') o.clip(op[1] as never);
      else o.unclip();
    }
  }
  return {ink: ink.get(), fast: fast.get()};
}

const red = (s: string) => `\x1b[31m${s}\x1b[39m`;
const bold = (s: string) => `\x1b[1m${s}\x1b[22m`;
const inverse = (s: string) => `\x1b[7m${s}\x1b[27m`;

const CASES: Array<[string, number, number, Op[]]> = [
  ['plain text', 20, 2, [['write', 0, 0, 'hello'], ['write', 3, 1, 'world  ']]],
  ['log rows: gutter glyph, colours, a match in inverse', 40, 3, [['write', 0, 0, `${red('● ')}  ${red('ERROR: ')}${inverse(red('cache'))}${red(' gone')}\n   plain line\n${bold('x')}`]]],
  ['pieces side by side', 30, 1, [['write', 0, 0, red('left')], ['write', 10, 0, 'mid'], ['write', 20, 0, bold('right')]]],
  ['overlapping boxes (later wins)', 20, 1, [['write', 0, 0, red('aaaaaaaaaa')], ['write', 4, 0, 'BB']]],
  ['wide characters', 20, 1, [['write', 0, 0, '日本語 text'], ['write', 12, 0, 'x']]],
  ['emoji and combining marks', 20, 2, [['write', 0, 0, 'e\u0301t\u00e9 ✔︎'], ['write', 0, 1, '👍🏽 ok']]],
  ['box drawing', 12, 3, [['write', 0, 0, '┌────────┐'], ['write', 0, 1, '│'], ['write', 9, 1, '│'], ['write', 2, 1, red('hi')], ['write', 0, 2, '└────────┘']]],
  ['clipped: plain and single-column Unicode rows cut at both ends', 30, 3, [['clip', {x1: 3, x2: 12}], ['write', 1, 0, 'following · /tmp/tdx-guest-td.log\n● paused ▼ 12 new lines\nab'], ['unclip']]],
  ['clipped: wide characters and a colour across the cut', 20, 2, [['clip', {x1: 0, x2: 5}], ['write', 0, 0, `日本語 text\n${red('0123456789')}`], ['unclip']]],
  ['clipped', 20, 3, [['clip', {x1: 2, x2: 8, y1: 0, y2: 2}], ['write', 0, 0, `${red('0123456789')}\nabcdefghij\nzzz`], ['unclip'], ['write', 10, 2, 'tail']]],
  ['past the width', 5, 1, [['write', 0, 0, '0123456789']]],
  ['other escape sequences', 30, 1, [['write', 0, 0, '\x1b]8;;http://x\x07link\x1b]8;;\x07 after']]],
  ['styled trailing spaces and empty writes', 20, 2, [['write', 0, 0, inverse('ab  ')], ['write', 0, 1, '\x1b[31m\x1b[39m'], ['write', 5, 1, 'z']]],
  ['a colour left open does not reach the next piece', 20, 1, [['write', 0, 0, '\x1b[31mred'], ['write', 8, 0, 'plain']]],
  ['background then text (a filled box)', 10, 1, [['write', 0, 0, '\x1b[44m          \x1b[49m'], ['write', 2, 0, 'on blue']]],
];

describe('fastOutput', () => {
  for (const [name, width, height, ops] of CASES) {
    it(`gives Ink's cells: ${name}`, () => {
      const {ink, fast} = both(width, height, ops);
      expect(fast.height).toBe(ink.height);
      expect(cells(fast.output)).toEqual(cells(ink.output));
    });
  }

  it("applies Ink's transformers line by line", () => {
    const {ink, fast} = both(20, 2, [['write', 1, 0, 'one\ntwo']], [(line, i) => `${i}:${red(line)}`]);
    expect(cells(fast.output)).toEqual(cells(ink.output));
  });

  it('takes the fast path for the log rows and not for wide, joined or other escaped text', () => {
    expect(simpleWidth(`${red('● ')} ${inverse('x')}`)).toEqual({width: 4, styled: true});
    expect(simpleWidth('plain')).toEqual({width: 5, styled: false});
    for (const text of ['日本', 'e\u0301', '👍', '✔\ufe0e', '\x1b]8;;u\x07a', 'tab\there']) expect(simpleWidth(text)).toBeUndefined();
  });

  it('measures as widest-line does', () => {
    for (const text of ['', 'abc\nabcdef', red('● abc'), '日本語\nab', 'e\u0301\n👍🏽', '\x1b]8;;u\x07link\x1b]8;;\x07']) expect(widestLine(text)).toBe(widestLineInk(text));
  });
});
