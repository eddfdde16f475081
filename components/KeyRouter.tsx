// One subscription to the keyboard for the whole wizard, so a key is never lost between screens.
//
// Ink's useInput subscribes in a passive effect, which runs a moment after the frame is drawn, and
// again after every render whose handler is a new function. A key that arrives in that moment
// reaches no handler (a screen that just appeared) or the previous render's (which may still
// think it is on the previous screen): an operator who presses Enter as a menu appears sees
// nothing happen. Here the router holds the one Ink subscription, and each useKeymap joins it in
// a layout effect, in the same task as the commit that drew its frame, and always calls the
// latest handler.
import {createContext, useCallback, useRef, type ReactNode} from 'react';
import {useInput, useStdin, type Key} from 'ink';
import {splitBurst} from './keyBurst.js';

export type KeyListener = {current: (input: string, key: Key) => void};

export interface KeyRoute {
  /** Adds a listener (called in the order they joined); returns its removal. */
  join(listener: KeyListener): () => void;
}

export const KeyRouteContext = createContext<KeyRoute | undefined>(undefined);

export function KeyRouter({children}: {children: ReactNode}) {
  const {isRawModeSupported} = useStdin();
  const listeners = useRef(new Set<KeyListener>());
  const route = useRef<KeyRoute>({
    join(listener) {
      listeners.current.add(listener);
      return () => void listeners.current.delete(listener);
    },
  });
  // Stable, so Ink never re-subscribes. Every listener sees the state the key arrived in (Ink
  // batches the updates they make into one render); the keys of a burst, one after the other.
  const dispatch = useCallback((input: string, key: Key) => {
    for (const [one, oneKey] of splitBurst(input, key)) {
      for (const listener of [...listeners.current]) if (listeners.current.has(listener)) listener.current(one, oneKey);
    }
  }, []);
  useInput(dispatch, {isActive: Boolean(isRawModeSupported)});
  return <KeyRouteContext.Provider value={route.current}>{children}</KeyRouteContext.Provider>;
}
