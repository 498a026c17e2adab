// Types of the client's React bindings (react.js, `immer-rs-client/react`).
import type { Presence, SharedDocument } from './index.js';

/**
 * The part of `store`'s state that `selector` picks (the whole state without a selector), kept
 * up to date through React's `useSyncExternalStore`: the component re-renders only when the
 * part changed, by identity (`Object.is`) or as `isEqual` says.
 *
 * Immer's structural sharing keeps the parts of the state an edit did not touch the same
 * objects, so a selector that picks a part as it is (a todo, a list) needs no `isEqual`; one
 * that builds a new value (a list of ids) gives an `isEqual` that compares its contents.
 *
 * The selection is cached: for the same state and the same selector, the selector is not
 * called again; a new selection `isEqual` to the last one is replaced by the last one.
 *
 * The selector is called with the state as `store.getState()` gives it. A store that
 * `connect()` resolved with, and a handle that `connection.open()` resolved with, always have
 * one; a handle taken from `connection.document(name)` before its `open` resolved has none
 * yet, and the selector (or, without one, the hook) gets `undefined` although the type says
 * `S`: render such a handle only once `open` has resolved, or select with `(s) => s?.todos`.
 *
 * @example
 * ```tsx
 * import { memo } from 'react';
 * import { useDocument } from 'immer-rs-client/react';
 *
 * const TodoItem = memo(function TodoItem({ id }: { id: string }) {
 *   // Re-renders when this todo changes, not when another one does.
 *   const todo = useDocument(board, (s) => s.todos.find((t) => t.id === id));
 *   return todo === undefined ? null : <li>{todo.text}</li>;
 * });
 *
 * function TodoList() {
 *   // Re-renders when todos come, go or move; not when one is ticked.
 *   const ids = useDocument(board, (s) => s.todos.map((t) => t.id), sameIds);
 *   return <ul>{ids.map((id) => <TodoItem key={id} id={id} />)}</ul>;
 * }
 *
 * const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((id, i) => id === b[i]);
 * ```
 */
export declare function useDocument<S, T = S>(
  store: SharedDocument<S, any>,
  selector?: (state: S) => T,
  isEqual?: (a: T, b: T) => boolean,
): T;

/**
 * The others' presences on `store` (as its `presence()` gives them: never this client's own,
 * in order of `client`); the component re-renders when one appears, moves or goes.
 *
 * @example
 * ```tsx
 * function Online() {
 *   const others = usePresence(board);
 *   return <p>here: {[...new Set(others.map((p) => p.user))].join(', ')}</p>;
 * }
 * ```
 */
export declare function usePresence(store: SharedDocument<any, any>): Presence[];
