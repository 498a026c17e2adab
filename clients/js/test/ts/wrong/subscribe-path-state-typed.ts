import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function watch(store: Store<Project>): void {
  store.subscribePath('/tasks/*/done', (patches, state) => {
    const done: boolean = state.tasks[0].title;
    void [patches, done];
  });
}
