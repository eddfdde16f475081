// The one table of keys. Components look up what a keypress means here (`matchKey`/`useKeymap`),
// and the help bar and the `?` overlay are printed from the same rows, so help never lies.
//
// A row is what the operator reads: a label ("↑↓ j k"), a description ("move") and a scope
// (where it applies). Each row lists the concrete keys it answers to and the action each one means.
import {useContext, useLayoutEffect, useRef, useState, useSyncExternalStore} from 'react';
import {useInput, useStdin, type Key} from 'ink';
import {KeyRouteContext, type KeyListener} from './KeyRouter.js';
import {themeMode} from './theme.js';

export type Scope = 'global' | 'menu' | 'form' | 'input' | 'choice' | 'confirm' | 'log' | 'hint' | 'help';

export type Action =
  | 'help' | 'quit' | 'interrupt'
  | 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'follow'
  | 'select' | 'back' | 'next' | 'prev' | 'confirm' | 'cancel' | 'close'
  | 'search' | 'searchNext' | 'searchPrev' | 'filter' | 'exclude' | 'severity' | 'wrap' | 'clear'
  | 'left' | 'right' | 'home' | 'end' | 'erase' | 'fix';

type KeyFlag = 'upArrow' | 'downArrow' | 'leftArrow' | 'rightArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'tab'
  | 'backspace' | 'delete';

/** One concrete key: a named key (`key`) or a typed character (`input`, exact case), optionally with Ctrl. */
export interface KeySpec {
  key?: KeyFlag;
  input?: string;
  ctrl?: boolean;
  action: Action;
}

export interface KeyBinding {
  scope: Scope;
  /** The keys as shown in help ("↑↓ j k"); `ascii` replaces it in ASCII mode. */
  label: string;
  ascii?: string;
  description: string;
  /** Shown in the one-line help bar (everything is shown in the `?` overlay). */
  bar?: boolean;
  keys: readonly KeySpec[];
}

export const SCOPE_TITLES: Record<Scope, string> = {
  global: 'Anywhere',
  menu: 'Menus',
  form: 'Forms',
  input: 'Text fields',
  choice: 'Choices',
  confirm: 'Confirmations',
  log: 'Log pane',
  hint: 'The hint above the log',
  help: 'This help',
};

export const KEYMAP: readonly KeyBinding[] = [
  {scope: 'menu', label: '↑↓ j k', ascii: 'Up/Down j k', description: 'move', bar: true,
    keys: [{key: 'upArrow', action: 'up'}, {input: 'k', action: 'up'}, {key: 'downArrow', action: 'down'}, {input: 'j', action: 'down'}]},
  {scope: 'menu', label: 'Enter', description: 'select', bar: true, keys: [{key: 'return', action: 'select'}]},
  {scope: 'menu', label: 'Esc', description: 'back', bar: true, keys: [{key: 'escape', action: 'back'}]},

  {scope: 'form', label: 'Enter', description: 'next field (only when valid)', bar: true, keys: [{key: 'return', action: 'next'}]},
  {scope: 'form', label: '↑', ascii: 'Up', description: 'previous field', keys: [{key: 'upArrow', action: 'prev'}]},
  {scope: 'form', label: '↓', ascii: 'Down', description: 'next field (only when valid)', keys: [{key: 'downArrow', action: 'next'}]},
  {scope: 'form', label: 'Esc', description: 'back', bar: true, keys: [{key: 'escape', action: 'back'}]},

  {scope: 'input', label: '←→ Home End', ascii: 'Left/Right Home End', description: 'move the cursor',
    keys: [{key: 'leftArrow', action: 'left'}, {key: 'rightArrow', action: 'right'}, {key: 'home', action: 'home'}, {key: 'end', action: 'end'}]},
  // Terminals send DEL (0x7f) for Backspace, which ink 6 reports as `delete`: both erase backwards.
  {scope: 'input', label: 'Backspace', description: 'delete the character before the cursor',
    keys: [{key: 'backspace', action: 'erase'}, {key: 'delete', action: 'erase'}]},
  {scope: 'input', label: 'Ctrl+U', description: 'clear the field', keys: [{input: 'u', ctrl: true, action: 'clear'}]},

  {scope: 'choice', label: '←→', ascii: 'Left/Right', description: 'choose', bar: true,
    keys: [{key: 'leftArrow', action: 'left'}, {key: 'rightArrow', action: 'right'}]},

  {scope: 'confirm', label: 'Enter', description: 'confirm (only the exact text)', bar: true, keys: [{key: 'return', action: 'confirm'}]},
  {scope: 'confirm', label: 'Esc', description: 'cancel', bar: true, keys: [{key: 'escape', action: 'cancel'}]},

  {scope: 'log', label: '↑ k PgUp', ascii: 'Up k PgUp', description: 'pause', bar: true,
    keys: [{key: 'upArrow', action: 'up'}, {input: 'k', action: 'up'}, {key: 'pageUp', action: 'pageUp'}]},
  {scope: 'log', label: '↓ j PgDn', ascii: 'Down j PgDn', description: 'scroll down',
    keys: [{key: 'downArrow', action: 'down'}, {input: 'j', action: 'down'}, {key: 'pageDown', action: 'pageDown'}]},
  {scope: 'log', label: 'Home g', description: "the file's first line", keys: [{key: 'home', action: 'top'}, {input: 'g', action: 'top'}]},
  {scope: 'log', label: 'End F', description: 'follow', bar: true,
    keys: [{key: 'end', action: 'follow'}, {input: 'F', action: 'follow'}, {input: 'G', action: 'follow'}]},
  {scope: 'log', label: 'w', description: 'wrap', bar: true, keys: [{input: 'w', action: 'wrap'}]},
  {scope: 'log', label: '/', description: 'search', bar: true, keys: [{input: '/', action: 'search'}]},
  {scope: 'log', label: 'n N', description: 'next/previous match',
    keys: [{input: 'n', action: 'searchNext'}, {input: 'N', action: 'searchPrev'}]},
  {scope: 'log', label: '& f', description: 'filter', bar: true, keys: [{input: '&', action: 'filter'}, {input: 'f', action: 'filter'}]},
  {scope: 'log', label: '!', description: 'hide lines (inverted filter)', keys: [{input: '!', action: 'exclude'}]},
  {scope: 'log', label: 's', description: 'severity: all, warnings and errors, errors only', keys: [{input: 's', action: 'severity'}]},
  {scope: 'log', label: '←→', ascii: 'Left/Right', description: 'scroll long lines sideways (w wraps them instead)',
    keys: [{key: 'leftArrow', action: 'left'}, {key: 'rightArrow', action: 'right'}]},
  {scope: 'log', label: 'Esc', description: 'clear search and filters, then back', keys: [{key: 'escape', action: 'clear'}]},

  {scope: 'hint', label: 'x', description: 'fix (opens what the hint above names)', bar: true, keys: [{input: 'x', action: 'fix'}]},

  {scope: 'help', label: 'Esc ?', description: 'close', bar: true,
    keys: [{key: 'escape', action: 'close'}, {input: '?', action: 'close'}, {input: 'q', action: 'close'}]},

  {scope: 'global', label: '?', description: 'help', bar: true, keys: [{input: '?', action: 'help'}]},
  {scope: 'global', label: 'q', description: 'quit', bar: true, keys: [{input: 'q', action: 'quit'}]},
  {scope: 'global', label: 'Ctrl+C', description: 'cancel the running step (twice), or quit',
    keys: [{input: 'c', ctrl: true, action: 'interrupt'}]},
];

function asList(scopes: Scope | readonly Scope[]): readonly Scope[] {
  return typeof scopes === 'string' ? [scopes] : scopes;
}

function keyMatches(spec: KeySpec, input: string, key: Key): boolean {
  if (Boolean(spec.ctrl) !== Boolean(key.ctrl)) return false;
  if (spec.key) return key[spec.key];
  if (spec.input === undefined) return false;
  if (key.meta && !key.escape) return false;
  return input === spec.input;
}

/** What a keypress means in the given scopes (first scope wins), or undefined. */
export function matchKey(input: string, key: Key, scopes: Scope | readonly Scope[]): Action | undefined {
  for (const scope of asList(scopes)) {
    for (const binding of KEYMAP) {
      if (binding.scope !== scope) continue;
      for (const spec of binding.keys) if (keyMatches(spec, input, key)) return spec.action;
    }
  }
  return undefined;
}

/** The scopes of keys live now under the router (empty outside one): what the help bar may promise. */
export function useLiveScopes(): Scope[] {
  const route = useContext(KeyRouteContext);
  const joined = useSyncExternalStore(route?.subscribe ?? noSubscription, route?.scopes ?? noScopes);
  return joined ? (joined.split(',') as Scope[]) : [];
}
const noSubscription = () => () => {};
const noScopes = () => '';

export function bindingsFor(scopes: Scope | readonly Scope[]): KeyBinding[] {
  const list = asList(scopes);
  return list.flatMap((scope) => KEYMAP.filter((b) => b.scope === scope));
}

export function keyLabel(binding: KeyBinding): string {
  return themeMode().ascii && binding.ascii ? binding.ascii : binding.label;
}

/**
 * Subscribes to keys while `isActive` and stdin can do raw mode (never throws without a TTY).
 * `handler` receives the action from the table (undefined for keys the scopes do not bind) and
 * the raw key, so text entry can use the characters.
 *
 * Inside a KeyRouter (the wizard) the handler joins the router as its frame is drawn, and the
 * latest handler is the one called. Alone (a component rendered by itself, as in the component
 * tests) it subscribes through Ink's useInput, with the same latest-handler rule.
 */
export function useKeymap(
  scopes: Scope | readonly Scope[],
  handler: (action: Action | undefined, input: string, key: Key) => void,
  isActive = true,
): void {
  const {isRawModeSupported} = useStdin();
  const route = useContext(KeyRouteContext);
  const active = isActive && Boolean(isRawModeSupported);
  const latest = useRef(handler);
  const scopesRef = useRef(scopes);
  const [listener] = useState<KeyListener>(() => ({current: (input, key) => latest.current(matchKey(input, key, scopesRef.current), input, key), scopes: asList(scopes)}));
  useLayoutEffect(() => {
    latest.current = handler;
    scopesRef.current = scopes;
    const list = asList(scopes);
    if (list.join(',') !== listener.scopes.join(',')) {
      listener.scopes = list;
      route?.rescoped();
    }
    route?.committed();
  });
  useLayoutEffect(() => (route && active ? route.join(listener) : undefined), [route, active, listener]);
  useInput(listener.current, {isActive: active && !route});
}
