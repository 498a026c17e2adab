import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

// A list index in a pattern is plain decimal without a leading zero: these name no element
// (at run time they match nothing), so they do not compile.
export function watch(store: Store<Project>): void {
  store.subscribePath('/tasks/01/done', () => {});
  store.subscribePath('/tasks/-1', () => {});
  store.subscribePath('/tasks/1.5', () => {});
  store.subscribePath('/shape/Rect/1e3', () => {});
  store.subscribePath('/tasks/ 1', () => {});
}
