// A serial-log pane in the manner of `less +F`: it follows the end by default; scrolling up pauses
// it (the view holds still while the log grows) and a badge counts the lines that arrived since;
// End/F follows again. Home/g go to the first line of the file. `/` searches (n/N move between
// matches), `&`/`f` keeps only lines matching a regular expression, `!` hides them, `s` keeps
// warnings and errors, then errors only. `w` wraps long lines; otherwise ←/→ scroll sideways.
// The pane reads only what it shows from its source (the file itself, on demand, see
// src/vm/log-source.ts), so every line of a gigabyte log is reachable in bounded memory.
import {useEffect, useReducer, useRef} from 'react';
import {Box, Text} from 'ink';
import {severityPattern} from '../src/vm/hints.js';
import type {Condition, LogSource, SourceLine} from '../src/vm/log-source.js';
import {LogWindow, STEP} from '../src/vm/log-window.js';
import {matchKey, useKeymap} from './keymap.js';
import {fit, formatCount, glyphs, oneLine, pad, paint, severityGlyph, severityTone, textWidth, tone, type Severity} from './theme.js';

export interface LogHint {
  severity: Severity;
  title: string;
}
export interface LogPaneProps {
  source: LogSource;
  /** Changes whenever lines arrive (the pane reads the source again). */
  version: number;
  /** Lines that have arrived so far (the badge counts those that came while paused); default: the source's end. */
  arrived?: number;
  /** Changes when the log restarts (a new boot): the pane follows the new log. */
  generation?: number;
  width: number;
  /** Rows in all: the last one is the status/prompt row. */
  height: number;
  hintFor?: (line: string) => LogHint | undefined;
  title?: string;
  isActive?: boolean;
  /** Esc with no search or filter left to clear. */
  onBack?: () => void;
  /** True while the search/filter prompt takes typed text (disable global letter keys meanwhile). */
  onEditingChange?: (editing: boolean) => void;
  /** Where the pane keeps its position, search and filter when it must outlive its mounting (the help overlay); default: the pane itself. */
  memory?: LogPaneMemory;
}

/** The pane's view state and the scans under way, kept by whoever outlives it (an empty object to start). */
export interface LogPaneMemory {
  current?: State;
  window?: LogWindow;
}

type Least = 'all' | 'warn' | 'error';
type PromptKind = 'search' | 'filter' | 'exclude';
interface State {
  /** The log's restarts seen: a new one means a new boot, whose positions are new. */
  generation: number;
  follow: boolean;
  top: number; // position of the top line while paused
  pausedArrived: number;
  search: string;
  match?: SourceLine;
  filter: string;
  exclude: string;
  least: Least;
  wrap: boolean;
  shift: number;
  prompt?: {kind: PromptKind; text: string};
  notice: string;
}

const LEAST_NEXT: Record<Least, Least> = {all: 'warn', warn: 'error', error: 'all'};
const LEAST_TEXT: Record<Least, string> = {all: '', warn: 'warnings and errors', error: 'errors only'};
const PROMPT_SIGN: Record<PromptKind, string> = {search: '/', filter: '&', exclude: '!'};

/** A typed pattern: a regular expression if it is one, else the literal text; case-insensitive. */
export function patternOf(text: string): RegExp {
  try {
    return new RegExp(text, 'i');
  } catch {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
  }
}

function conditions(s: State): Condition[] {
  const out: Condition[] = [];
  if (s.filter) out.push({re: patternOf(s.filter)});
  if (s.least !== 'all') out.push({re: severityPattern(s.least)});
  if (s.exclude) out.push({re: patternOf(s.exclude), invert: true});
  return out;
}

export const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

export function LogPane({source, version, arrived, generation = 0, width, height, hintFor, title = 'Log', isActive = true, onBack, onEditingChange, memory}: LogPaneProps) {
  const own = useRef<State | undefined>(undefined) as LogPaneMemory;
  const held = memory ?? own;
  const state = held as {current: State};
  const win = (held.window ??= new LogWindow(source));
  state.current ??= {generation, follow: true, top: 0, pausedArrived: 0, search: '', filter: '', exclude: '', least: 'all', wrap: false, shift: 0, notice: ''};
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  if (state.current.generation !== generation) {
    // A new boot: the old positions mean nothing in the new log.
    state.current = {...state.current, generation, follow: true, match: undefined, notice: ''};
  }
  const s = state.current;
  const bodyRows = Math.max(0, height - 1);
  const where = conditions(s);
  const end = source.end();
  const count = arrived ?? end;
  void version; // a new version is a re-render: the source is read again below
  // A paused view whose top is past the end (the log was cut) follows again.
  if (!s.follow && s.top > end) state.current = {...s, follow: true};
  // The window keeps what it found: following a filtered log, each frame reads only what arrived
  // since, and a rare match in a gigabyte is looked for once, in steps between frames, not in one.
  const key = `${generation}\0${bodyRows}\0${where.map((c) => `${c.invert ? '!' : ''}${c.re.source}`).join('\0')}`;
  const shown: SourceLine[] =
    bodyRows <= 0 ? [] : state.current.follow ? win.following(end, bodyRows, where, key) : win.paused(state.current.top, end, bodyRows, where, `${state.current.top}\0${key}`);
  const shownNow = useRef(shown);
  shownNow.current = shown;
  // What is left of a scan goes on between frames; the pane redraws a few times a second meanwhile.
  useEffect(() => {
    if (!win.pending()) return;
    let painted = Date.now();
    let timer = setImmediate(function work() {
      const started = Date.now();
      let more = true;
      while (more && Date.now() - started < 15) more = win.pump();
      if (!more || Date.now() - painted >= 150) {
        painted = Date.now();
        rerender();
      }
      if (more) timer = setImmediate(work);
    });
    return () => clearImmediate(timer);
  });
  const editing = s.prompt !== undefined;
  useEffect(() => onEditingChange?.(editing), [editing, onEditingChange]);

  // Key handlers read the ref, not the render's values: several keys can arrive before a re-render.
  const set = (patch: Partial<State>) => {
    state.current = {...state.current, ...patch};
    rerender();
  };
  const topNow = () => (state.current.follow ? (shown[0]?.at ?? end) : state.current.top);
  const pauseAt = (top: number | undefined, patch: Partial<State> = {}) => {
    const st = state.current;
    if (top === undefined) return set(patch);
    set({follow: false, top, pausedArrived: st.follow ? count : st.pausedArrived, notice: '', ...patch});
  };
  const now = () => conditions(state.current);
  // Moves and searches go through the window: one step at once, the rest between frames.
  const seek = (label: string, from: number, dir: 1 | -1, count: number, where: readonly Condition[], done: (lines: SourceLine[]) => void) => {
    win.seek({label, from, dir, count, where, done});
    rerender(); // the status row shows the scan under way
  };
  const move = (dir: 1 | -1, count: number, done: (lines: SourceLine[], at: number) => void) => {
    const at = topNow();
    seek(dir > 0 ? 'scrolling down' : 'scrolling up', at, dir, count, now(), (lines) => done(lines, at));
  };
  const down = (by: number) =>
    move(1, bodyRows + by, (ahead, at) => pauseAt(ahead.length > bodyRows ? ahead[Math.min(by, ahead.length - bodyRows)]!.at : at));
  const jumpToMatch = (query: string, from: number, dir: 1 | -1) => {
    const look = [...now(), {re: patternOf(query)}];
    seek(`searching /${query}`, from, dir, 1, look, ([found]) => {
      if (!found) return set({notice: `no ${dir > 0 ? 'later' : 'earlier'} match for "${query}"`});
      const visible = shownNow.current.some((l) => l.at === found.at);
      const top = visible ? topNow() : (source.backward(found.at, Math.floor(bodyRows / 2), now(), 0, STEP)[0]?.at ?? found.at);
      pauseAt(top, {match: found});
    });
  };

  useKeymap('log', (logAction, input, key) => {
    const st = state.current;
    // The prompt may have opened since the last render (keys in one burst): decide the scope here.
    const action = st.prompt ? matchKey(input, key, 'input') : logAction;
    if (st.prompt) {
      if (key.escape) return set({prompt: undefined});
      if (key.return) {
        const {kind, text} = st.prompt;
        if (kind !== 'search') return set({prompt: undefined, [kind]: text, follow: true, match: undefined});
        set({prompt: undefined, search: text, match: undefined});
        if (text) jumpToMatch(text, shownNow.current.at(-1)?.next ?? end, -1);
        return;
      }
      if (action === 'erase') return set({prompt: {...st.prompt, text: st.prompt.text.slice(0, -1)}});
      if (action === 'clear') return set({prompt: {...st.prompt, text: ''}});
      if (input && !action && !key.ctrl && !key.meta && !key.tab) set({prompt: {...st.prompt, text: st.prompt.text + input}});
      return;
    }
    switch (action) {
      case 'up': return move(-1, 1, (lines, at) => pauseAt(lines[0]?.at ?? at));
      case 'pageUp': return move(-1, Math.max(1, bodyRows - 1), (lines, at) => pauseAt(lines[0]?.at ?? at));
      case 'down': return down(1);
      case 'pageDown': return down(Math.max(1, bodyRows - 1));
      case 'top': return seek('going to the first line', 0, 1, 1, now(), ([first]) => pauseAt(first?.at ?? 0));
      case 'follow': return set({follow: true, notice: ''});
      case 'search': return set({prompt: {kind: 'search', text: ''}, notice: ''});
      case 'filter': return set({prompt: {kind: 'filter', text: st.filter}, notice: ''});
      case 'exclude': return set({prompt: {kind: 'exclude', text: st.exclude}, notice: ''});
      case 'severity': return set({least: LEAST_NEXT[st.least], follow: true, match: undefined});
      case 'wrap': return set({wrap: !st.wrap, shift: 0});
      case 'left': return set({shift: Math.max(0, st.shift - 8)});
      case 'right': return st.wrap ? undefined : set({shift: st.shift + 8});
      case 'searchNext': return st.search ? jumpToMatch(st.search, st.match?.next ?? topNow(), 1) : undefined;
      case 'searchPrev': return st.search ? jumpToMatch(st.search, st.match?.at ?? shownNow.current.at(-1)?.next ?? end, -1) : undefined;
      case 'clear': {
        // A search or a move under way stops first; the view stays where it was.
        const stopped = win.cancel();
        if (stopped) return set({notice: `stopped ${stopped}`});
        if (st.search || st.filter || st.exclude || st.least !== 'all') return set({search: '', filter: '', exclude: '', least: 'all', match: undefined, notice: ''});
        return onBack?.();
      }
    }
  }, isActive);

  const g = glyphs();
  const gutter = Math.max(...(['error', 'warn', 'info', 'ok'] as const).map((sev) => textWidth(severityGlyph(sev)))) + 1;
  const marker = Math.max(textWidth(g.pointer), textWidth(g.match)) + 1;
  const textWidthLeft = Math.max(1, width - gutter - marker);
  const needle = s.search ? patternOf(s.search) : undefined;

  // The window is one Text: each row already cut to the width, its colour as SGR codes. Ink then
  // lays out one node instead of four per row, which under a flood of serial lines is most of a
  // frame's cost and garbage (BENCHMARKS.md, benchmark 4).
  let rows = shown.flatMap((line) => {
    const text = oneLine(line.text);
    const hint = hintFor?.(text);
    const found = needle?.exec(text);
    const mark = s.match?.at === line.at ? g.pointer : found ? g.match : '';
    const lineTone = hint ? severityTone(hint.severity) : undefined;
    const pieces = s.wrap ? wrapText(text, textWidthLeft) : [fit(sideways(text, s.shift), textWidthLeft)];
    return pieces.map((shownText, k) => {
      const at = found && !s.wrap && s.shift === 0 ? found.index : -1;
      const len = found?.[0].length ?? 0;
      const body =
        at >= 0 && at + len <= shownText.length
          ? paint(shownText.slice(0, at), lineTone) + paint(shownText.slice(at, at + len), lineTone, {inverse: true}) + paint(shownText.slice(at + len), lineTone)
          : paint(shownText, lineTone);
      const lead = k === 0 ? paint(pad(hint ? severityGlyph(hint.severity) : '', gutter), lineTone) + (mark ? paint(pad(mark, marker), 'accent') : pad('', marker)) : pad('', gutter + marker);
      return lead + body;
    });
  });
  // Wrapped rows: following shows the last rows, paused the first.
  if (rows.length > bodyRows) rows = s.follow ? rows.slice(-bodyRows) : rows.slice(0, bodyRows);

  const newLines = s.follow ? 0 : Math.max(0, count - s.pausedArrived);
  const filters = [s.filter ? `filter /${s.filter}/` : '', s.exclude ? `hiding /${s.exclude}/` : '', LEAST_TEXT[s.least]].filter(Boolean).join(', ');
  const status = s.prompt
    ? `${PROMPT_SIGN[s.prompt.kind]}${s.prompt.text}${g.cursor}  (Enter ${s.prompt.kind === 'search' ? 'search' : s.prompt.kind === 'filter' ? 'keep matching lines' : 'hide matching lines'}, Esc cancel)`
    : [
        s.follow ? `${g.running} following` : `${g.paused} paused${newLines ? ` ${g.newBelow} ${plural(newLines, 'new line')} (End/F follows)` : ''}`,
        win.progress() ? `${win.progress()} (Esc stops)` : s.notice,
        s.search ? `/${s.search}` : '',
        filters,
        s.wrap ? 'wrapping' : s.shift ? `columns ${s.shift + 1}-` : '',
        title,
      ].filter(Boolean).join(g.separator);

  if (height <= 0) return null;
  return (
    <Box flexDirection="column" width={width}>
      {rows.length > 0 && (
        <Box height={rows.length} width={width}>
          <Text>{rows.join('\n')}</Text>
        </Box>
      )}
      {bodyRows > rows.length && <Box height={bodyRows - rows.length} />}
      <Box height={1} width={width} overflow="hidden">
        <Text {...(s.follow || s.prompt ? tone('muted') : tone('warn'))}>{fit(status, width)}</Text>
      </Box>
    </Box>
  );
}

/** The text from column `shift` on (a long line scrolled sideways). */
function sideways(text: string, shift: number): string {
  return shift > 0 ? text.slice(shift) : text;
}

/** The text in rows of `width` columns (by characters: serial lines are ASCII). */
export function wrapText(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width));
  return out;
}
