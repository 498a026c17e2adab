import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function edit(store: Store<Project>): void {
  store.update((d) => {
    d.shape = { Rect: { width: 1, height: 2 } };
  });
}
