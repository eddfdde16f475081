// The hint catalogue (assets/hints.json) applied to lines: which known message a line is, and
// what the last telling line of a boot says about why the VM stopped.
import {plainText} from './plain-text.js';
import type {Role} from '../era/eras.js';
import catalogue from '../../assets/hints.json' with {type: 'json'};

export type HintSource = 'serial' | 'launcher' | 'tool';
export type Severity = 'ok' | 'info' | 'warn' | 'error';

export interface Hint {
  id: string;
  pattern: string;
  source: HintSource;
  severity: Severity;
  title: string;
  explanation: string;
  /** The wizard command (or host command) that fixes it; empty when there is nothing to do. */
  action: string;
  /** The line says that something failed or stopped, not why: the cause is an earlier line. */
  generic?: boolean;
  /** The wizard screen that fixes it, opened with the volume of `role` (default: the cache volume) filled in. */
  wizard?: HintScreen;
  role?: Role;
}

export type HintScreen = 'relabel' | 'repair' | 'set' | 'vm' | 'checks';
const SCREENS: readonly string[] = ['relabel', 'repair', 'set', 'vm', 'checks'];

export interface HintMatch {
  hint: Hint;
  /** The line as matched: colour codes removed. */
  line: string;
  /** The pattern's capture groups that matched (the reason after a colon, a label...). */
  groups: string[];
}

const RANK: Record<Severity, number> = {info: 0, ok: 1, warn: 2, error: 3};
const SOURCES: readonly string[] = ['serial', 'launcher', 'tool'];
const SEVERITIES: readonly string[] = ['ok', 'info', 'warn', 'error'];

function load(): Array<{hint: Hint; re: RegExp}> {
  return (catalogue.hints as unknown[]).map((raw, i) => {
    const h = raw as Hint;
    // A broken entry is a packaging bug: fail loudly at load time, not silently at match time.
    if (!h.id || !h.pattern || !h.title || !SOURCES.includes(h.source) || !SEVERITIES.includes(h.severity) || (h.wizard !== undefined && !SCREENS.includes(h.wizard))) {
      throw new Error(`assets/hints.json entry ${i} (${h.id ?? 'no id'}) is incomplete`);
    }
    return {hint: {...h, action: h.action ?? ''}, re: new RegExp(h.pattern)};
  });
}

const compiled = load();
export const HINTS: readonly Hint[] = compiled.map((c) => c.hint);

// Every line of the serial log goes through matchHint (50,000 lines/s from a chatty guest), and
// almost none match. One pass of all patterns as alternatives rejects those lines about twice as
// fast as trying each pattern in turn. Only patterns without backreferences or named groups can
// be joined (group numbers change); if any has one, every line takes the loop.
const ANY = joined(compiled.map((c) => c.hint.pattern));

function joined(patterns: readonly string[]): RegExp | undefined {
  return patterns.every((p) => !/\\[1-9k]|\(\?</.test(p)) ? new RegExp(patterns.map((p) => `(?:${p})`).join('|')) : undefined;
}

/** The first hint whose pattern matches the line (colour codes removed first). */
export function matchHint(line: string, sources?: readonly HintSource[]): HintMatch | undefined {
  const text = plainText(line);
  if (PREFILTER && !PREFILTER.test(text)) return undefined;
  if (ANY && !ANY.test(text)) return undefined;
  for (const {hint, re} of compiled) {
    if (sources && !sources.includes(hint.source)) continue;
    const m = re.exec(text);
    if (m) return {hint, line: text, groups: m.slice(1).filter((g): g is string => g !== undefined)};
  }
  return undefined;
}

// A pattern's pieces: an escape, a class, one of ()|?*+{.^$, or a run of plain characters.
const PIECES = /\\.?|\[(?:\\.|[^\]\\])*\]?|\{[^}]*\}?|[()|?*+.^$]|[^\\[{()|?*+.^$]+/g;

/** For each alternative of a pattern at its top level, the longest run of plain text outside groups and classes that every match of it contains. */
function requiredTexts(pattern: string): string[] {
  const out: string[] = [];
  let best = '';
  let cur = '';
  let depth = 0;
  const end = () => {
    if (cur.length > best.length) best = cur;
    cur = '';
  };
  for (const [piece] of pattern.matchAll(PIECES)) {
    const c = piece[0]!;
    if (c === '(' || c === ')') {
      depth += c === '(' ? 1 : -1;
      end();
    } else if (c === '|' && depth === 0) {
      end();
      out.push(best);
      best = '';
    } else if (c === '?' || c === '*' || c === '{') {
      cur = cur.slice(0, -1); // the character before is optional
      end();
    } else if (depth > 0) continue;
    else if (c === '\\' && piece.length === 2 && !/[A-Za-z0-9]/.test(piece[1]!)) cur += piece[1]; // \( \. \/...: the character itself
    else if (piece.length > 1 ? c !== '\\' && c !== '[' : !'+.^$\\['.includes(c)) cur += piece;
    else end(); // \d, \s, \b, a class, +, ., ^, $: not text (+: the character before is there)
  }
  end();
  out.push(best);
  return out;
}

/** An alternation of the text each alternative requires, or undefined if one requires too little. */
export function prefilter(patterns: readonly string[]): RegExp | undefined {
  const texts = patterns.flatMap(requiredTexts);
  if (texts.some((t) => t.length < 3)) return undefined;
  return new RegExp([...new Set(texts)].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));
}

// Cheaper still: each alternative of each pattern has a run of plain text any match must contain
// (" volume is not mounted from a LUKS mapper device" of "(Cache|Storage) volume is not mounted
// ..."); one alternation of those literals rejects a line in half the time of ANY (V8 tries a plain
// string far faster than a pattern). An alternative without such a run of 3 or more characters
// turns the prefilter off.
const PREFILTER = prefilter(compiled.map((c) => c.hint.pattern));

/**
 * Text that may hold a hint of `sources`, tested over a whole read of the serial log (`extra` added
 * as another alternative); undefined if no such test can be made. A line whose plain text
 * (plainText) it does not match matches no hint of those sources.
 */
export function candidates(extra: string, sources: readonly HintSource[]): RegExp | undefined {
  const patterns = compiled.filter((c) => sources.includes(c.hint.source)).map((c) => c.hint.pattern);
  const any = prefilter(patterns) ?? joined(patterns);
  return any && new RegExp(`${any.source}|${extra}`);
}

/** A hint's action with the operator's own values put in for placeholders such as <volume>. */
export function actionFor(hint: Hint, values: Record<string, string | undefined> = {}): string {
  return hint.action.replace(/<([a-z]+)>/g, (whole, name: string) => values[name] ?? whole);
}

export interface MarkerState {
  /** Why the boot went the way it did: the last specific marker, else the last generic one. */
  cause?: HintMatch;
  /** The last marker of any kind (info excluded). */
  last?: HintMatch;
  poweredOff: boolean;
  /** The log ends in a failure: the cause is an error. */
  failed: boolean;
}

/** The sources of the hints a MarkerTracker reads: what the guest and the tools on it say. */
export const TRACKED: readonly HintSource[] = ['serial', 'tool'];

/** Follows a log line by line in constant memory; reset it when the log restarts (a new boot). */
export class MarkerTracker {
  private specific?: HintMatch;
  private generic?: HintMatch;
  private latest?: HintMatch;
  private off = false;

  push(line: string): HintMatch | undefined {
    const m = matchHint(line, TRACKED);
    if (!m) return undefined;
    if (m.hint.id === 'power-down') this.off = true;
    if (m.hint.severity === 'info') return m;
    this.latest = m;
    if (m.hint.generic) {
      // "Power down" after "shutting down" adds nothing: keep the more severe of the two.
      if (!this.generic || RANK[m.hint.severity] >= RANK[this.generic.hint.severity]) this.generic = m;
      // A failure after a success line is a new problem: the success no longer explains the end.
      if (m.hint.severity === 'error' && this.specific && this.specific.hint.severity !== 'error') this.specific = undefined;
    } else {
      // The same cause said again (the reason repeated in a summary or a kernel message) keeps
      // its first, most telling line.
      if (this.specific?.hint.id !== m.hint.id) this.specific = m;
      this.generic = undefined;
    }
    return m;
  }

  reset(): void {
    this.specific = this.generic = this.latest = undefined;
    this.off = false;
  }

  get state(): MarkerState {
    const cause = this.specific ?? this.generic;
    return {cause, last: this.latest, poweredOff: this.off, failed: cause?.hint.severity === 'error'};
  }
}

/** The markers of a run of lines: "the VM powered off because ...". */
export function lastMarker(lines: Iterable<string>): MarkerState {
  const tracker = new MarkerTracker();
  for (const line of lines) tracker.push(line);
  return tracker.state;
}

// The log pane's severity filter. A line is an error when a serial hint of severity error matches
// it or it says error, fail(ed/ure), fatal or panic as a word (lower case, capitalised or upper case);
// a warning when a warn hint matches it or it says warn(ing). One regular expression each, so the pane scans a gigabyte at disk speed.
// (Written in each case, as Node 20 has no inline (?i:) group.)
const ERROR_WORDS = String.raw`\b(?:[Ee]rrors?|ERRORS?|[Ff]ail(?:ed|ure)?|FAIL(?:ED|URE)?|[Ff]atal|FATAL|[Pp]anic|PANIC)\b`;
const WARN_WORDS = String.raw`\b(?:[Ww]arn(?:ing)?|WARN(?:ING)?)\b`;

function hintPatterns(severities: readonly Severity[]): string[] {
  return compiled
    .filter((c) => c.hint.source === 'serial' && severities.includes(c.hint.severity) && !/\\[1-9k]|\(\?</.test(c.hint.pattern))
    .map((c) => `(?:${c.hint.pattern})`);
}

/** Lines of at least this severity: 'error', or 'warn' (warnings and errors). */
export function severityPattern(least: 'warn' | 'error'): RegExp {
  const words = least === 'error' ? [ERROR_WORDS] : [ERROR_WORDS, WARN_WORDS];
  const severities: Severity[] = least === 'error' ? ['error'] : ['warn', 'error'];
  return new RegExp([...hintPatterns(severities), ...words].join('|'));
}
