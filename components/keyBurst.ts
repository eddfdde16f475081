// A burst of keys that reached the wizard in one read: what a terminal sends when keys are typed
// while the program is busy (they wait in the terminal's buffer and arrive together), or pasted.
// Ink splits escape sequences out of a read but hands the rest on as one input: "\u0015new"
// (Ctrl+U, then text), "abc\r" (text, then Enter) or "/tdx" (open the search, then its text),
// which no key binding matched, and where a text field kept only the letters. Ctrl+U, Backspace,
// Enter and every key of a menu or the log pane were lost. Here such an input becomes its keys
// again, one per character, as Ink reports each key typed alone. A long one is a paste: its text
// stays in runs (the same characters in a text field, without a dispatch per character).
import type {Key} from 'ink';

/** A Key with nothing pressed: the base of every key made here. */
export const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** One control character as Ink reports it typed alone; undefined for the ones it gives no meaning. */
function controlKey(ch: string): [string, Key] | undefined {
  const code = ch.charCodeAt(0);
  if (ch === '\r') return ['', {...NO_KEY, return: true}];
  if (ch === '\t') return ['', {...NO_KEY, tab: true}];
  if (ch === '\b') return ['', {...NO_KEY, backspace: true}];
  if (ch === '\x7f') return ['', {...NO_KEY, delete: true}];
  if (ch === '\n') return undefined; // Ink's "enter" (a line feed), which nothing binds
  if (code >= 1 && code <= 0x1a) return [String.fromCharCode(code + 96), {...NO_KEY, ctrl: true}];
  return undefined;
}

/** Longer inputs are pastes: their text goes on in runs. */
export const TYPED_BURST_MAX = 256;

const textKey = (text: string): [string, Key] => [text, {...NO_KEY, shift: text.length === 1 && /[A-Z]/.test(text)}];

/**
 * The text keys that came in a burst of two or more characters: typed ahead, or pasted. A single
 * letter that means an action (q quits) is never taken from one: a pasted path must not quit.
 */
export const FROM_BURST = new WeakSet<Key>();

/** The keys in one input from Ink: itself when it is one key, else each key in it, in order. */
export function splitBurst(input: string, key: Key): Array<[string, Key]> {
  const chars = [...input];
  if (chars.length < 2 || key.ctrl || key.meta) return [[input, key]];
  const typed = chars.length <= TYPED_BURST_MAX;
  const keys: Array<[string, Key]> = [];
  let text = '';
  for (const ch of chars) {
    if (!CONTROL.test(ch)) {
      if (typed) keys.push(textKey(ch));
      else text += ch;
      continue;
    }
    if (text) keys.push(textKey(text));
    text = '';
    const k = controlKey(ch);
    if (k) keys.push(k);
  }
  if (text) keys.push(textKey(text));
  if (chars.filter((ch) => !CONTROL.test(ch)).length > 1) for (const [k, key] of keys) if (k && !key.ctrl) FROM_BURST.add(key);
  return keys;
}
