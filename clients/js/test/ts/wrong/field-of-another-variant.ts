import type { Store } from '../../../index.js';
import type { Project } from '../fixtures.js';

export function edit(store: Store<Project>): void {
  store.update((d) => {
    if (d.status.kind === 'draft') d.status.since = '2026-01-01';
  });
}
