import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function edit(store: Store<Project>): void {
  store.update((d) => {
    d.tasks.push({ id: 9, title: 'no done' });
  });
}
