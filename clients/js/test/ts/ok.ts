// Correct uses of the client's types with the types generated from Rust (fixtures.d.ts): this
// file must compile (test/typescript.test.js runs `tsc --noEmit --strict` over it). Declared,
// never run.
import { connect, connectMany, touches, parsePattern, type Patch, type Store } from '../../index.js';
import type { Project, Shape, Status, Task } from './fixtures.js';

export async function board(): Promise<void> {
  const store: Store<Project> = await connect<Project>('ws://localhost:3000/ws/welcome', { token: 'ann' });

  store.update((d) => {
    d.tasks[0].done = true;
    d.tasks.push({ id: 7, title: 'write the types', done: false });
    d.tasks.splice(1, 1);
    d.projectName = 'Typed';
    d.owner = null;
    d.owner = 'ann';
    d.scores['ann'] = 3;
    delete d.scores['bob'];
  });

  // An internally tagged enum: narrowed by its tag, then its variant's fields written.
  store.update((d) => {
    if (d.status.kind === 'active') d.status.since = '2026-01-01';
    if (d.status.kind === 'closed') {
      d.status.reason = 'done';
      d.status.at = 3;
    }
    d.status = { kind: 'closed', reason: 'shipped', at: 1 };
  });

  // An externally tagged enum: replaced by another variant, of each shape.
  store.update((d) => {
    if (typeof d.shape === 'object' && 'Circle' in d.shape) d.shape.Circle.radius = 4;
    else if (typeof d.shape === 'object') d.shape.Rect[0] = 5;
  });
  store.update((d) => {
    d.shape = { Circle: { radius: 2 } };
    d.shape = { Rect: [1, 2] };
    d.shape = 'Empty';
  });

  // A recipe may return a whole new state.
  store.update((d) => ({ ...d, projectName: 'Replaced' }));

  const state: Project = store.getState();
  const name: string = store.getState().projectName;
  const owner: string | null = state.owner;
  const first: Task | undefined = state.tasks[0];
  const status: Status = state.status;
  const shape: Shape = state.shape;
  const score: number | undefined = state.scores['ann'];

  const stop: () => void = store.subscribePath('/tasks/*/done', (patches, after) => {
    const touched: Patch[] = patches;
    const count: number = after.tasks.filter((task) => task.done).length;
    void [touched, count];
  });
  stop();
  // Patterns are checked against the state's type: fields, list indices, `*`, `**`, map keys,
  // enum variants' fields, escapes, and patterns made at run time.
  for (const index of [0, 1]) store.subscribePath(`/tasks/${index}/title`, () => {});
  const made: string = ['', 'tasks'].join('/');
  store.subscribePath(made, () => {});
  store.subscribePath('', () => {});
  store.subscribePath('/**', () => {});
  store.subscribePath('/tasks/**', () => {});
  store.subscribePath('/tasks/3', () => {});
  // A list index is plain decimal without a leading zero, `0` itself included.
  store.subscribePath('/tasks/0/done', () => {});
  store.subscribePath('/tasks/10', () => {});
  store.subscribePath('/tasks/18446744073709551615/title', () => {});
  store.subscribePath('/shape/Rect/0', () => {});
  store.subscribePath('/scores/ann', () => {});
  store.subscribePath('/status/since', () => {});
  store.subscribePath('/shape/Circle/radius', () => {});
  store.subscribePath('/shape/Rect/1', () => {});
  store.subscribePath('/*/0', () => {});
  store.subscribe((after) => {
    const title: string = after.projectName;
    void title;
  });

  const connection = connectMany('ws://localhost:3000/ws', { token: 'ann' });
  const doc = await connection.open<Project>('team-a');
  doc.update((d) => {
    d.tasks.push({ id: 8, title: 'another board', done: true });
  });
  doc.subscribePath('/shape', (patches, after) => {
    const shown: Shape = after.shape;
    void [patches, shown];
  });

  const touchesIt: boolean = touches('/tasks/0', { op: 'remove', path: ['tasks', 0] });
  const segments = parsePattern('/tasks/**').segments.map((s) => s.kind);
  void [name, owner, first, status, shape, score, touchesIt, segments];
}
