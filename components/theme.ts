// Presentation primitives shared by the components: status glyphs, colours, and the text helpers
// that keep every rendered line to exactly one terminal row.
//
// Two switches, decided once before the first render:
//   color: false  -> components pass no colour or style props at all (no SGR in the frame);
//   ascii: true   -> glyphs are plain ASCII ([ok] [x] [*] [ ] [-]) and "..." replaces "…".
// NO_COLOR (non-empty), `--no-color` and TERM=dumb turn both off; `setThemeMode` overrides.
import {stripSgr} from '../src/runner/lines.js';
import wrapAnsi from 'wrap-ansi';

export interface ThemeMode {
  color: boolean;
  ascii: boolean;
}

export type Tone = 'ok' | 'error' | 'warn' | 'info' | 'accent' | 'muted' | 'running';
export type Severity = 'error' | 'warn' | 'info' | 'ok';
/** Step states and run states, both drawn with the same five glyphs. */
export type Status = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'planned' | 'ok' | 'cancelled';

export interface Glyphs {
  done: string;
  failed: string;
  running: string;
  pending: string;
  skipped: string;
  warn: string;
  info: string;
  pointer: string;
  match: string;
  ellipsis: string;
  separator: string;
  barFull: string;
  barEmpty: string;
  newBelow: string;
  paused: string;
  cursor: string;
}

const UNICODE: Glyphs = {
  done: '✔', failed: '✖', running: '●', pending: '○', skipped: '⊘', warn: '▲', info: 'ℹ',
  pointer: '❯', match: '•', ellipsis: '…', separator: ' · ', barFull: '█', barEmpty: '░',
  newBelow: '▼', paused: '‖', cursor: '▏',
};

const ASCII: Glyphs = {
  done: '[ok]', failed: '[x]', running: '[*]', pending: '[ ]', skipped: '[-]', warn: '[!]', info: '[i]',
  pointer: '>', match: '*', ellipsis: '...', separator: ' | ', barFull: '#', barEmpty: '-',
  newBelow: 'v', paused: '||', cursor: '_',
};

const COLORS: Record<Tone, string> = {
  ok: 'green', error: 'red', warn: 'yellow', info: 'cyan', accent: 'blueBright', muted: 'gray', running: 'cyan',
};

/** What the environment asks for: NO_COLOR (non-empty), `--no-color` or TERM=dumb mean plain. */
export function detectThemeMode(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): ThemeMode {
  const plain = Boolean(env.NO_COLOR) || env.TERM === 'dumb' || argv.includes('--no-color');
  return {color: !plain, ascii: plain};
}

let mode: ThemeMode = detectThemeMode();

/** Override the mode (the CLI calls this for `--no-color` / `--ascii`; tests call it directly). */
export function setThemeMode(next: Partial<ThemeMode>): ThemeMode {
  mode = {...mode, ...next};
  return mode;
}

/** Shorthand: plain = no colour and ASCII glyphs. */
export function setPlain(plain: boolean): ThemeMode {
  return setThemeMode({color: !plain, ascii: plain});
}

export function themeMode(): Readonly<ThemeMode> {
  return mode;
}

export function glyphs(): Glyphs {
  return mode.ascii ? ASCII : UNICODE;
}

/** Ink colour props for a tone; empty when colour is off, so the frame carries no SGR. */
export function tone(t: Tone | undefined): {color?: string; dimColor?: boolean} {
  if (!mode.color || !t) return {};
  return t === 'muted' ? {dimColor: true} : {color: COLORS[t]};
}

// The same colours as SGR codes, for panes that draw many lines as one Text (one Ink node instead
// of one per line and part): `tone()` as props and `paint()` as codes give the same result.
const SGR_OF: Record<string, string> = {green: '32', red: '31', yellow: '33', cyan: '36', blueBright: '94', gray: '90'};

/** `text` in the tone (and inverse), as SGR codes; the text itself when colour is off. */
export function paint(text: string, t: Tone | undefined, style: {inverse?: boolean} = {}): string {
  if (!mode.color || !text || (!t && !style.inverse)) return text;
  const codes = [...(t ? [t === 'muted' ? '2' : SGR_OF[COLORS[t]]!] : []), ...(style.inverse ? ['7'] : [])];
  return `\x1b[${codes.join(';')}m${text}\x1b[0m`;
}

/** Bold/inverse only with colour on (TERM=dumb cannot show them either). */
export function emphasis(kind: 'bold' | 'inverse' | 'underline', on = true): Record<string, boolean> {
  return mode.color && on ? {[kind]: true} : {};
}

export function statusGlyph(status: Status): string {
  const g = glyphs();
  switch (status) {
    case 'done':
    case 'ok':
      return g.done;
    case 'failed':
      return g.failed;
    case 'running':
      return g.running;
    case 'skipped':
    case 'cancelled':
      return g.skipped;
    default:
      return g.pending;
  }
}

export function statusTone(status: Status): Tone {
  if (status === 'done' || status === 'ok') return 'ok';
  if (status === 'failed') return 'error';
  if (status === 'running') return 'running';
  if (status === 'cancelled') return 'warn';
  return 'muted';
}

export function statusWord(status: Status): string {
  return status === 'ok' ? 'done' : status;
}

export function severityGlyph(severity: Severity): string {
  const g = glyphs();
  return severity === 'error' ? g.failed : severity === 'warn' ? g.warn : severity === 'ok' ? g.done : g.info;
}

export function severityTone(severity: Severity): Tone {
  return severity === 'error' ? 'error' : severity === 'warn' ? 'warn' : severity === 'ok' ? 'ok' : 'info';
}

// ---- one row of text -------------------------------------------------------------------------

const SGR = /^\x1b\[[0-9;:]*m/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Columns one code point takes: 0 for combining marks, 2 for wide East Asian and emoji. */
export function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) || (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return 1;
}

/** Display width, colour sequences excluded. */
export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length; // most text, and every serial line: one column a character
  let w = 0;
  for (const ch of stripSgr(text)) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/** Makes text safe for one row: newlines and tabs become spaces, other control characters go, colour goes when off. */
export function oneLine(text: string): string {
  const kept = mode.color ? text : stripSgr(text);
  // eslint-disable-next-line no-control-regex
  return kept.replace(/[\r\n\t]/g, ' ').replace(/\x1b(?!\[[0-9;:]*m)|[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g, '');
}

/** Cuts text to `width` columns with an ellipsis (colour-aware: a cut inside colour is reset). */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  const clean = oneLine(text);
  if (textWidth(clean) <= width) return clean;
  const ell = glyphs().ellipsis;
  const room = Math.max(0, width - textWidth(ell));
  const tail = width >= textWidth(ell) ? ell : '';
  if (PRINTABLE_ASCII.test(clean)) return clean.slice(0, room) + tail; // a long serial line: cut by characters
  let out = '';
  let w = 0;
  let sawSgr = false;
  for (let i = 0; i < clean.length; ) {
    const sgr = clean.charCodeAt(i) === 0x1b ? SGR.exec(clean.slice(i, i + 32)) : null;
    if (sgr) {
      out += sgr[0];
      sawSgr = true;
      i += sgr[0].length;
      continue;
    }
    const cp = clean.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const cw = charWidth(cp);
    if (w + cw > room) break;
    out += ch;
    w += cw;
    i += ch.length;
  }
  return out + (sawSgr ? '\x1b[0m' : '') + tail;
}

/**
 * Breaks text into rows of at most `width` columns at spaces (wrap-ansi; a word longer than a row
 * is broken), at most `maxRows` of them: the last row is cut with an ellipsis when more is left.
 */
export function wrapRows(text: string, width: number, maxRows: number): string[] {
  if (width <= 0 || maxRows <= 0) return [];
  const rows = wrapAnsi(oneLine(text), width, {hard: true, trim: true}).split('\n');
  if (rows.length <= maxRows) return rows;
  return [...rows.slice(0, maxRows - 1), fit(`${rows[maxRows - 1]} ${rows.slice(maxRows).join(' ')}`, width)];
}

/**
 * `lead` then `text`, broken into at most `maxRows` rows of `width` columns, each row after the
 * first indented under the text's start: a message and its fix, whole, not cut at the edge.
 */
export function hangingRows(lead: string, text: string, width: number, maxRows: number): string[] {
  const hang = textWidth(lead);
  return wrapRows(text, Math.max(10, width - hang), maxRows).map((row, k) => fit(`${k === 0 ? lead : ' '.repeat(hang)}${row}`, width));
}

/** Pads (or cuts) to exactly `width` columns. */
export function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = fit(text, width);
  const space = ' '.repeat(Math.max(0, width - textWidth(cut)));
  return align === 'left' ? cut + space : space + cut;
}

/** "0.4 s", "12 s", "3 m 05 s", "1 h 02 m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.floor(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

export function formatCount(n: number): string {
  // Not toLocaleString: its first call sets up ICU's number formatting, 9 ms of the log pane's first frame.
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
