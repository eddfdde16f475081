// Ink's screen buffer (ink/build/output.js), with a fast path; the bundle uses it in place of Ink's
// (scripts/bundle-options.mjs). Ink turns every cell of every frame into an object (tokenize, then
// one styled character per cell, then back to a string): 70-80% of a frame of the log pane under a
// flood of serial lines, and most of its garbage. Here each row keeps the pieces written to it;
// a row whose pieces do not overlap and hold only single-column characters and colour codes (SGR)
// is the pieces joined with spaces between them, each piece that set a colour followed by a reset.
// Any other row (overlapping boxes, wide or combining characters, other escape sequences) is built
// cell by cell exactly as Ink builds it. The screen shows the same cells either way
// (test/fast-output.test.ts compares the two on the same writes).
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import {styledCharsFromTokens, styledCharsToString, tokenize, type StyledChar} from '@alcalzone/ansi-tokenize';

type Transformer = (line: string, index: number) => string;
interface Clip {
  x1?: number;
  x2?: number;
  y1?: number;
  y2?: number;
}
type Operation = {type: 'write'; x: number; y: number; text: string; transformers: Transformer[]} | {type: 'clip'; clip: Clip} | {type: 'unclip'};
interface Piece {
  x: number;
  line: string;
}

const widths = new Map<string, number>();
function widthOf(text: string): number {
  let w = widths.get(text);
  if (w === undefined) {
    w = stringWidth(text);
    if (widths.size < 4096) widths.set(text, w);
  }
  return w;
}

const SGR = /^\x1b\[[0-9;:]*m/;

/** The columns a line takes, and whether it sets a colour; undefined when it holds anything else than single-column characters and SGR codes. */
export function simpleWidth(line: string): {width: number; styled: boolean} | undefined {
  let width = 0;
  let styled = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      width++;
      continue;
    }
    if (c === 0x1b) {
      const m = SGR.exec(line.slice(i, i + 32));
      if (!m) return undefined;
      styled = true;
      i += m[0].length - 1;
      continue;
    }
    // Other characters: one column, alone (no surrogate pair, combining mark, joiner or wide character).
    if (c < 0xa0 || (c >= 0xd800 && c <= 0xdfff) || widthOf(line[i]!) !== 1) return undefined;
    const next = line.charCodeAt(i + 1);
    if (next >= 0x300 && widthOf(line.slice(i, i + 2)) !== 2) return undefined; // the next one might join this one
    width++;
  }
  return {width, styled};
}

class Caches {
  widths = new Map<string, number>();
  blockWidths = new Map<string, number>();
  styledChars = new Map<string, StyledChar[]>();
  getStyledChars(line: string): StyledChar[] {
    let cached = this.styledChars.get(line);
    if (cached === undefined) {
      cached = styledCharsFromTokens(tokenize(line));
      this.styledChars.set(line, cached);
    }
    return cached;
  }
  getStringWidth(text: string): number {
    let cached = this.widths.get(text);
    if (cached === undefined) {
      cached = simpleWidth(text)?.width ?? stringWidth(text);
      this.widths.set(text, cached);
    }
    return cached;
  }
  getWidestLine(text: string): number {
    let cached = this.blockWidths.get(text);
    if (cached === undefined) {
      let lineWidth = 0;
      for (const line of text.split('\n')) lineWidth = Math.max(lineWidth, this.getStringWidth(line));
      cached = lineWidth;
      this.blockWidths.set(text, cached);
    }
    return cached;
  }
}

export default class Output {
  width: number;
  height: number;
  operations: Operation[] = [];
  caches = new Caches();

  constructor({width, height}: {width: number; height: number}) {
    this.width = width;
    this.height = height;
  }

  write(x: number, y: number, text: string, {transformers}: {transformers: Transformer[]}): void {
    if (!text) return;
    this.operations.push({type: 'write', x, y, text, transformers});
  }

  clip(clip: Clip): void {
    this.operations.push({type: 'clip', clip});
  }

  unclip(): void {
    this.operations.push({type: 'unclip'});
  }

  get(): {output: string; height: number} {
    const rows: Piece[][] = Array.from({length: this.height}, () => []);
    const clips: Clip[] = [];
    // What is written where: Ink's own clipping, line by line (ink/build/output.js).
    for (const operation of this.operations) {
      if (operation.type === 'clip') clips.push(operation.clip);
      if (operation.type === 'unclip') clips.pop();
      if (operation.type !== 'write') continue;
      const {text, transformers} = operation;
      let {x, y} = operation;
      let lines = text.split('\n');
      const clip = clips.at(-1);
      if (clip) {
        const clipHorizontally = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
        const clipVertically = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
        if (clipHorizontally) {
          const width = this.caches.getWidestLine(text);
          if (x + width < clip.x1! || x > clip.x2!) continue;
        }
        if (clipVertically && (y + lines.length < clip.y1! || y > clip.y2!)) continue;
        if (clipHorizontally) {
          lines = lines.map((line) => {
            const from = x < clip.x1! ? clip.x1! - x : 0;
            const simple = simpleWidth(line); // one pass: the width, and whether slice() can cut it
            const width = simple?.width ?? this.caches.getStringWidth(line);
            const to = x + width > clip.x2! ? clip.x2! - x : width;
            // A row of single-column characters without escape codes: a column is a UTF-16 unit.
            return simple && !simple.styled ? line.slice(from, to) : sliceAnsi(line, from, to);
          });
          if (x < clip.x1!) x = clip.x1!;
        }
        if (clipVertically) {
          const from = y < clip.y1! ? clip.y1! - y : 0;
          const to = y + lines.length > clip.y2! ? clip.y2! - y : lines.length;
          lines = lines.slice(from, to);
          if (y < clip.y1!) y = clip.y1!;
        }
      }
      let offsetY = 0;
      for (let [index, line] of lines.entries()) {
        const row = rows[y + offsetY];
        if (!row) continue;
        for (const transformer of transformers) line = transformer(line, index);
        row.push({x, line});
        offsetY++;
      }
    }
    return {output: rows.map((pieces) => this.fast(pieces) ?? this.slow(pieces)).join('\n'), height: rows.length};
  }

  /** The row as the pieces joined, when they allow it. */
  private fast(pieces: Piece[]): string | undefined {
    let out = '';
    let at = 0;
    let tail = true; // the row so far ends in plain text (trailing spaces can go)
    for (const {x, line} of pieces) {
      if (x < at) return undefined;
      const simple = simpleWidth(line);
      if (!simple) return undefined;
      if (simple.width === 0 && !simple.styled) continue;
      out += ' '.repeat(x - at) + line + (simple.styled ? '\x1b[0m' : '');
      tail = !simple.styled;
      at = x + simple.width;
    }
    return tail ? out.trimEnd() : out;
  }

  /** The row cell by cell, as Ink builds it. */
  private slow(pieces: Piece[]): string {
    const row: StyledChar[] = [];
    for (let x = 0; x < this.width; x++) row.push({type: 'char', value: ' ', fullWidth: false, styles: []});
    for (const {x, line} of pieces) {
      let offsetX = x;
      for (const character of this.caches.getStyledChars(line)) {
        row[offsetX] = character;
        const characterWidth = Math.max(1, this.caches.getStringWidth(character.value));
        for (let index = 1; index < characterWidth; index++) row[offsetX + index] = {type: 'char', value: '', fullWidth: false, styles: character.styles};
        offsetX += characterWidth;
      }
    }
    return styledCharsToString(row.filter((item) => item !== undefined)).trimEnd();
  }
}
