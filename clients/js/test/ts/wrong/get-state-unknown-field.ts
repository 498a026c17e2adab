import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function read(store: Store<Project>): unknown {
  return store.getState().nope;
}
