// The board's list: `TodoList` re-renders only when todos come, go or move (it selects their
// ids), and each `TodoItem` only when its own todo changes (it selects that todo, which
// Immer's structural sharing keeps the same object while others change). Each counts its
// renders, in `window.__listRenders` and `window.__renders[id]`.
import { memo, useRef, useState, type FormEvent } from 'react';
import { useDocument, usePresence } from 'immer-rs-client/react';
import type { Draft } from 'immer';
import type { Todo } from './board.js';
import { colour, useBoard } from './context.js';

declare global {
  interface Window {
    /** How many times each todo's component rendered, by the todo's id. */
    __renders: Record<string, number>;
    /** How many times the list rendered. */
    __listRenders: number;
  }
}

/** Whether two lists of ids are the same, id by id. */
export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

export function TodoList() {
  const { store } = useBoard();
  const ids = useDocument(store, (s) => s.todos.map((t) => t.id), sameIds);
  window.__listRenders += 1;
  return (
    <ul id="todos" onPointerLeave={() => here(store, null)}>
      {ids.map((id) => <TodoItem key={id} id={id} />)}
    </ul>
  );
}

/** Shows the others where this user is: the todo `id`, or none. */
function here(store: ReturnType<typeof useBoard>['store'], id: string | null) {
  if (store.reason === null) store.setPresence({ todo: id });
}

/** One todo: its tick, its text (edited in place), who is at it, and its removal. */
export const TodoItem = memo(function TodoItem({ id }: { id: string }) {
  const { store, edit } = useBoard();
  const todo = useDocument(store, (s) => s.todos.find((t) => t.id === id));
  const [draft, setDraft] = useState<string | null>(null);
  /** Whether the text is being edited: saved once (Enter or leaving the field), or cancelled (Escape). */
  const editing = useRef(false);
  window.__renders[id] = (window.__renders[id] ?? 0) + 1;
  if (todo === undefined) return null;

  /** Edits this todo wherever it is now in the list. */
  const editTodo = (change: (todo: Draft<Todo>) => void) => {
    edit((d) => {
      const found = d.todos.find((t) => t.id === id);
      if (found !== undefined) change(found);
    }, id);
  };
  const start = () => {
    editing.current = true;
    setDraft(todo.text);
  };
  const cancel = () => {
    editing.current = false;
    setDraft(null);
  };
  const save = (event?: FormEvent) => {
    event?.preventDefault();
    if (!editing.current) return;
    editing.current = false;
    const text = draft?.trim() ?? '';
    setDraft(null);
    if (text !== '' && text !== todo.text) editTodo((t) => { t.text = text; });
  };
  return (
    <li data-id={id} className={todo.done ? 'done' : ''} onPointerEnter={() => here(store, id)} onFocus={() => here(store, id)}>
      <input type="checkbox" checked={todo.done} onChange={(event) => {
        const done = event.currentTarget.checked;
        editTodo((t) => { t.done = done; });
      }} />
      {draft === null ? (
        <span className="text" onDoubleClick={start}>{todo.text}</span>
      ) : (
        <form onSubmit={save}>
          <input className="edit" value={draft} maxLength={200} autoFocus onBlur={() => save()}
            onChange={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={(event) => { if (event.key === 'Escape') cancel(); }} />
        </form>
      )}
      <Here id={id} />
      <button type="button" data-action="edit" title="Edit the text" onClick={start}>✎</button>
      <button type="button" data-action="remove" title="Remove" onClick={() => edit((d) => {
        const index = d.todos.findIndex((t) => t.id === id);
        if (index >= 0) d.todos.splice(index, 1);
      }, id)}>✕</button>
    </li>
  );
});

/** Who else is at the todo `id` (a component of its own: presence does not re-render the todo). */
function Here({ id }: { id: string }) {
  const { store } = useBoard();
  const presences = usePresence(store);
  const users = [...new Set(presences.filter((p) => atTodo(p.state) === id).map((p) => p.user))];
  return (
    <span className="here">
      {users.map((user) => <span key={user} className="at" data-user={user} title={user} style={{ background: colour(user) }}>{user}</span>)}
    </span>
  );
}

/** The todo a presence is at, if any. */
function atTodo(state: unknown): string | null {
  if (typeof state !== 'object' || state === null || !('todo' in state)) return null;
  return typeof state.todo === 'string' ? state.todo : null;
}

/** The form that adds a todo at the end. */
export function AddTodo({ token }: { token: string }) {
  const { edit } = useBoard();
  const [text, setText] = useState('');
  const add = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = text.trim();
    if (trimmed === '') return;
    const id = `${token}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    edit((d) => { d.todos.push({ id, text: trimmed, done: false }); }, id);
    setText('');
  };
  return (
    <form id="add" className="add" onSubmit={add}>
      <input id="text" placeholder="Something to do" maxLength={200} value={text} onChange={(event) => setText(event.currentTarget.value)} />
      <button>Add</button>
    </form>
  );
}
