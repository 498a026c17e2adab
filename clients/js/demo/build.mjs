// Bundles the React board (`main.tsx`, React, the client and Immer) into `dist/board.js`, which
// the demo server serves at `/react/board.js`: `npm run build:demo`, which type-checks it first.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [join(here, 'main.tsx')],
  outfile: join(here, 'dist', 'board.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  // React's and Immer's production builds (their development builds read `process.env`).
  define: { 'process.env.NODE_ENV': '"production"' },
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
