// A serial-log pane in the manner of `less +F`: it follows the end by default; scrolling up pauses
// it and a badge counts the lines that arrived since; End/F follows again. `/` searches (n/N move
// between matches, matching lines are marked), `&` or `f` filters (only matching lines are shown).
// Lines that `hintFor` recognises carry a glyph and a colour. Only the visible window is read from
// the provider, except for filtering and searching, which scan the provider's lines.
import {useEffect, useMemo, useReducer, useRef} from 'react';
import {Box, Text} from 'ink';
import {stripSgr} from '../src/runner/lines.js';
import {matchKey, useKeymap} from './keymap.js';
import {fit, formatCount, glyphs, oneLine, pad, paint, severityGlyph, severityTone, textWidth, tone, type Severity} from './theme.js';

export interface LogProvider {
  totalLines(): number;
  lines(from: number, count: number): string[];
}
export interface LogHint {
  severity: Severity;
  title: string;
}
export interface LogPaneProps {
  provider: LogProvider;
  /** Changes whenever lines arrive (the pane re-reads the provider). */
  version: number;
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
}

interface State {
  follow: boolean;
  top: number;
  pausedTotal: number;
  search: string;
  match?: number; // view index of the current match
  filter: string;
  prompt?: {kind: 'search' | 'filter'; text: string};
  notice: string;
}

const CHUNK = 512;

/** The view the pane scrolls over: every line, or only those containing the filter text. */
function buildView(provider: LogProvider, filter: string) {
  const total = provider.totalLines();
  if (!filter) return {length: total, total, at: (from: number, n: number) => provider.lines(from, n)};
  const needle = filter.toLowerCase();
  const texts: string[] = [];
  for (let from = 0; from < total; from += CHUNK) {
    for (const line of provider.lines(from, CHUNK)) if (stripSgr(line).toLowerCase().includes(needle)) texts.push(line);
  }
  return {length: texts.length, total, at: (from: number, n: number) => texts.slice(from, from + n)};
}
type View = ReturnType<typeof buildView>;

/** The nearest view index from `start` (inclusive) in direction `dir` whose line contains `query`. */
export function findMatch(view: Pick<View, 'length' | 'at'>, query: string, start: number, dir: 1 | -1): number | undefined {
  const needle = query.toLowerCase();
  for (let i = dir > 0 ? Math.max(0, start) : Math.min(start, view.length - 1); i >= 0 && i < view.length; ) {
    const from = dir > 0 ? i : Math.max(0, i - CHUNK + 1);
    const chunk = view.at(from, dir > 0 ? CHUNK : i - from + 1);
    for (let k = dir > 0 ? 0 : chunk.length - 1; k >= 0 && k < chunk.length; k += dir) {
      if (stripSgr(chunk[k]!).toLowerCase().includes(needle)) return from + k;
    }
    i = dir > 0 ? from + chunk.length : from - 1;
    if (chunk.length === 0) break;
  }
  return undefined;
}

export function LogPane({provider, version, width, height, hintFor, title = 'Log', isActive = true, onBack, onEditingChange}: LogPaneProps) {
  const state = useRef<State>({follow: true, top: 0, pausedTotal: 0, search: '', filter: '', notice: ''});
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const s = state.current;
  // `version` is the provider's change counter: a new version means new lines to read.
  const view = useMemo(() => buildView(provider, s.filter), [provider, version, s.filter]);
  const bodyRows = Math.max(0, height - 1);
  const maxTop = Math.max(0, view.length - bodyRows);
  const top = s.follow ? maxTop : Math.min(s.top, maxTop);
  const editing = s.prompt !== undefined;
  useEffect(() => onEditingChange?.(editing), [editing, onEditingChange]);

  // Key handlers read the ref, not the render's values: several keys can arrive before a re-render.
  const set = (patch: Partial<State>) => {
    state.current = {...state.current, ...patch};
    rerender();
  };
  const topNow = () => (state.current.follow ? maxTop : Math.min(state.current.top, maxTop));
  const scrollTo = (next: number) => {
    const st = state.current;
    const pausedTotal = st.follow ? view.total : st.pausedTotal;
    set({follow: false, top: Math.min(Math.max(0, next), maxTop), pausedTotal, notice: ''});
  };
  const jumpToMatch = (query: string, from: number, dir: 1 | -1) => {
    const found = findMatch(view, query, from, dir);
    if (found === undefined) return set({notice: `no ${dir > 0 ? 'later' : 'earlier'} match for "${query}"`});
    const shownTop = topNow();
    scrollTo(found >= shownTop && found < shownTop + bodyRows ? shownTop : found - Math.floor(bodyRows / 2));
    set({match: found});
  };

  useKeymap('log', (logAction, input, key) => {
    const st = state.current;
    // The prompt may have opened since the last render (keys in one burst): decide the scope here.
    const action = st.prompt ? matchKey(input, key, 'input') : logAction;
    if (st.prompt) {
      if (key.escape) return set({prompt: undefined});
      if (key.return) {
        const text = st.prompt.text;
        if (st.prompt.kind === 'filter') return set({prompt: undefined, filter: text, follow: true, match: undefined});
        set({prompt: undefined, search: text, match: undefined});
        if (text) jumpToMatch(text, topNow() + bodyRows - 1, -1);
        return;
      }
      if (action === 'erase') return set({prompt: {...st.prompt, text: st.prompt.text.slice(0, -1)}});
      if (action === 'clear') return set({prompt: {...st.prompt, text: ''}});
      if (input && !action && !key.ctrl && !key.meta && !key.tab) set({prompt: {...st.prompt, text: st.prompt.text + input}});
      return;
    }
    const at = topNow();
    const current = st.match ?? at + bodyRows - 1;
    switch (action) {
      case 'up': return scrollTo(at - 1);
      case 'pageUp': return scrollTo(at - Math.max(1, bodyRows - 1));
      case 'down': return scrollTo(at + 1);
      case 'pageDown': return scrollTo(at + Math.max(1, bodyRows - 1));
      case 'top': return scrollTo(0);
      case 'follow': return set({follow: true, notice: ''});
      case 'search': return set({prompt: {kind: 'search', text: ''}, notice: ''});
      case 'filter': return set({prompt: {kind: 'filter', text: st.filter}, notice: ''});
      case 'searchNext': return st.search ? jumpToMatch(st.search, current + 1, 1) : undefined;
      case 'searchPrev': return st.search ? jumpToMatch(st.search, current - 1, -1) : undefined;
      case 'clear':
        if (st.search || st.filter) return set({search: '', filter: '', match: undefined, notice: ''});
        return onBack?.();
    }
  }, isActive);

  const g = glyphs();
  const gutter = Math.max(...(['error', 'warn', 'info', 'ok'] as const).map((sev) => textWidth(severityGlyph(sev)))) + 1;
  const marker = Math.max(textWidth(g.pointer), textWidth(g.match)) + 1;
  const textWidthLeft = Math.max(0, width - gutter - marker);
  const lines = bodyRows > 0 ? view.at(top, bodyRows) : [];
  const needle = s.search.toLowerCase();
  let lastHint: LogHint | undefined;

  // The window is one Text: each row already cut to the width, its colour as SGR codes. Ink then
  // lays out one node instead of four per row, which under a flood of serial lines is most of a
  // frame's cost and garbage (BENCHMARKS.md, benchmark 4).
  const rows = lines.map((raw, i) => {
    const text = oneLine(stripSgr(raw));
    const hint = hintFor?.(text);
    if (hint) lastHint = hint;
    const isMatch = needle !== '' && text.toLowerCase().includes(needle);
    const mark = top + i === s.match ? g.pointer : isMatch ? g.match : '';
    const shown = fit(text, textWidthLeft);
    const at = isMatch ? shown.toLowerCase().indexOf(needle) : -1;
    const lineTone = hint ? severityTone(hint.severity) : undefined;
    const body =
      at >= 0
        ? paint(shown.slice(0, at), lineTone) + paint(shown.slice(at, at + needle.length), lineTone, {inverse: true}) + paint(shown.slice(at + needle.length), lineTone)
        : paint(shown, lineTone);
    return paint(pad(hint ? severityGlyph(hint.severity) : '', gutter), lineTone) + (mark ? paint(pad(mark, marker), 'accent') : pad('', marker)) + body;
  });

  const newLines = s.follow ? 0 : Math.max(0, view.total - s.pausedTotal);
  const status = s.prompt
    ? `${s.prompt.kind === 'search' ? '/' : '&'}${s.prompt.text}${g.cursor}  (Enter ${s.prompt.kind === 'search' ? 'search' : 'filter'}, Esc cancel)`
    : [
        s.follow ? `${g.running} following` : `${g.paused} paused${newLines ? ` ${g.newBelow} ${formatCount(newLines)} new lines (End/F follows)` : ''}`,
        s.notice,
        s.search ? `/${s.search}` : '',
        s.filter ? `filter "${s.filter}": ${formatCount(view.length)} shown` : '',
        lastHint ? `${severityGlyph(lastHint.severity)} ${lastHint.title}` : '',
        `${title}: ${formatCount(view.total)} lines`,
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
