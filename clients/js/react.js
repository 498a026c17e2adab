// React bindings of the immer-web client (`immer-rs-client/react`): a component reads the part
// of a shared document it shows with `useDocument`, and re-renders only when that part changed.
// Immer's structural sharing keeps every part an edit did not touch the same object, so
// comparing by identity is enough: a todo ticked elsewhere on the board is a new object, its
// neighbours are the ones the component rendered last time.
//
//   const TodoItem = memo(({ id }) => {
//     const todo = useDocument(store, (s) => s.todos.find((t) => t.id === id));
//     ...
//   });
//
// React (18 or later) is a peer dependency, used through `useSyncExternalStore`.
import { useCallback, useDebugValue, useRef, useSyncExternalStore } from 'react';

/** The selector without one: the whole state. */
const whole = (state) => state;

/**
 * The part of `store`'s state that `selector` picks (the whole state without a selector); the
 * component re-renders only when it changed: by identity (`Object.is`), or as `isEqual` says.
 *
 * The selection is cached: asked again for the same state with the same selector, the hook
 * gives the same value without calling the selector (what `useSyncExternalStore` requires of a
 * snapshot); a new selection `isEqual` to the one given last is replaced by that one, so that
 * the component does not re-render.
 *
 * @template S, T
 * @param {import('./index.js').SharedDocument<S, any>} store
 * @param {(state: S) => T} [selector]
 * @param {(a: T, b: T) => boolean} [isEqual]
 * @returns {T}
 */
export function useDocument(store, selector = whole, isEqual = Object.is) {
  /** The selection last given: for which store, state and selector. */
  const cache = useRef(null);
  const subscribe = useCallback((onChange) => store.subscribe(() => onChange()), [store]);
  const snapshot = () => {
    const state = store.getState();
    const last = cache.current;
    if (last !== null && last.store === store && last.state === state && last.selector === selector) {
      return last.selection;
    }
    let selection = selector(state);
    if (last !== null && last.store === store && isEqual(last.selection, selection)) {
      selection = last.selection;
    }
    cache.current = { store, state, selector, selection };
    return selection;
  };
  const selection = useSyncExternalStore(subscribe, snapshot, snapshot);
  useDebugValue(selection);
  return selection;
}

/** Whether two lists hold the same items, in the same order (by identity). */
function sameItems(a, b) {
  return a.length === b.length && a.every((item, index) => Object.is(item, b[index]));
}

/**
 * The others' presences on `store` (its `presence()`: `{ client, user, state }` each, never
 * this client's own); the component re-renders when one appears, moves or goes.
 *
 * @param {import('./index.js').SharedDocument<any, any>} store
 * @returns {import('./index.js').Presence[]}
 */
export function usePresence(store) {
  const cache = useRef(null);
  const subscribe = useCallback((onChange) => store.subscribePresence(() => onChange()), [store]);
  const snapshot = () => {
    const presences = store.presence();
    const last = cache.current;
    if (last !== null && last.store === store && sameItems(last.presences, presences)) return last.presences;
    cache.current = { store, presences };
    return presences;
  };
  const presences = useSyncExternalStore(subscribe, snapshot, snapshot);
  useDebugValue(presences);
  return presences;
}
