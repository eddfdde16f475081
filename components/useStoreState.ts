// Subscribes a component to a slice of a zustand vanilla store. The selection is cached: while the
// store state is the same object, or the new selection is `equal` to the last, the same value is
// returned, so selectors that build arrays or objects do not make useSyncExternalStore loop.
import {useCallback, useRef, useSyncExternalStore} from 'react';
import type {StoreApi} from 'zustand/vanilla';

export function useStoreState<S, T>(
  store: StoreApi<S>,
  selector: (state: S) => T,
  equal: (a: T, b: T) => boolean = Object.is,
): T {
  const cache = useRef<{state: S; selector: (state: S) => T; value: T} | undefined>(undefined);
  const getSnapshot = useCallback((): T => {
    const state = store.getState();
    const last = cache.current;
    if (last && last.state === state && last.selector === selector) return last.value;
    const value = selector(state);
    const kept = last && equal(last.value, value) ? last.value : value;
    cache.current = {state, selector, value: kept};
    return kept;
  }, [store, selector, equal]);
  return useSyncExternalStore(store.subscribe, getSnapshot, getSnapshot);
}

/** Element-wise equality for selectors that return arrays. */
export function shallowArrayEqual<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}
