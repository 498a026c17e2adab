import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function watch(store: Store<Project>): void {
  store.subscribePath('/tasks/*/don', () => {});
}
