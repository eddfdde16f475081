// One subscription to the keyboard for the whole wizard, so a key is never lost between screens.
//
// Ink's useInput subscribes in a passive effect, which runs a moment after the frame is drawn, and
// again after every render whose handler is a new function. A key that arrives in that moment
// reaches no handler (a screen that just appeared) or the previous render's (which may still
// think it is on the previous screen): an operator who presses Enter as a menu appears sees
// nothing happen. Here the router holds the one Ink subscription, and each useKeymap joins it in
// a layout effect, in the same task as the commit that drew its frame, and always calls the
// latest handler.
//
// The keys of one read (components/keyBurst.ts) are delivered in order, at once, except those
// after an Enter: they wait for the next commit (the screen the Enter may have opened), or 50 ms,
// as if typed one by one. Enter and a pasted path then fill the field Enter opened; before, the
// path's q quit the menu. Input that arrives meanwhile waits behind them.
//
// The router also knows which scopes of keys are live (the union of its listeners' scopes), so the
// help bar and the `?` overlay print the keys that work on the screen as it is now: a confirmation
// that replaced a menu shows Enter/Esc of the confirmation, not the menu's keys.
import {createContext, useCallback, useRef, type ReactNode} from 'react';
import {useInput, useStdin, type Key} from 'ink';
import {splitBurst} from './keyBurst.js';
import type {Scope} from './keymap.js';

export type KeyListener = {current: (input: string, key: Key) => void; scopes: readonly Scope[]};

export interface KeyRoute {
  /** Adds a listener (called in the order they joined); returns its removal. */
  join(listener: KeyListener): () => void;
  /** A component with keys has committed a render (useKeymap says so from a layout effect). */
  committed(): void;
  /** A listener's scopes changed. */
  rescoped(): void;
  /** The live scopes, comma-joined in a fixed order (a stable snapshot for useSyncExternalStore). */
  scopes(): string;
  subscribe(onChange: () => void): () => void;
}

/** The order scopes are printed in, whatever order their components joined in. */
const SCOPE_ORDER: readonly Scope[] = ['menu', 'form', 'choice', 'confirm', 'hint', 'log', 'input', 'help', 'global'];

/** How long the keys after an Enter wait for a commit that does not come (the Enter did nothing). */
const SCREEN_WAIT_MS = 50;

function createRoute(): KeyRoute & {dispatch(input: string, key: Key): void} {
  const listeners = new Set<KeyListener>();
  const watchers = new Set<() => void>();
  let live = '';
  const recount = () => {
    const present = new Set([...listeners].flatMap((l) => l.scopes));
    const next = SCOPE_ORDER.filter((s) => present.has(s)).join(',');
    if (next === live) return;
    live = next;
    for (const watcher of [...watchers]) watcher();
  };
  const queue: Array<[string, Key]> = [];
  let waiting: NodeJS.Timeout | undefined;
  const deliver = (input: string, key: Key) => {
    for (const listener of [...listeners]) if (listeners.has(listener)) listener.current(input, key);
  };
  const drain = () => {
    while (queue.length && !waiting) {
      const [input, key] = queue.shift()!;
      deliver(input, key);
      if (key.return && queue.length) waiting = setTimeout(resume, SCREEN_WAIT_MS);
    }
  };
  const resume = () => {
    clearTimeout(waiting);
    waiting = undefined;
    drain();
  };
  return {
    join(listener) {
      listeners.add(listener);
      recount();
      return () => {
        listeners.delete(listener);
        recount();
      };
    },
    rescoped: recount,
    scopes: () => live,
    subscribe(onChange) {
      watchers.add(onChange);
      return () => void watchers.delete(onChange);
    },
    committed() {
      if (waiting) setImmediate(resume); // once the whole commit is done
    },
    dispatch(input, key) {
      const keys = splitBurst(input, key);
      if (!queue.length && !waiting && keys.length === 1) return deliver(input, key);
      queue.push(...keys);
      drain();
    },
  };
}

export const KeyRouteContext = createContext<KeyRoute | undefined>(undefined);

export function KeyRouter({children}: {children: ReactNode}) {
  const {isRawModeSupported} = useStdin();
  const route = useRef<ReturnType<typeof createRoute>>(undefined);
  route.current ??= createRoute();
  // Stable, so Ink never re-subscribes. Every listener sees the state the key arrived in (Ink
  // batches the updates they make into one render).
  const dispatch = useCallback((input: string, key: Key) => route.current!.dispatch(input, key), []);
  useInput(dispatch, {isActive: Boolean(isRawModeSupported)});
  return <KeyRouteContext.Provider value={route.current}>{children}</KeyRouteContext.Provider>;
}
