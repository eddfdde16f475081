// Bundles the CLI with esbuild. Code splitting keeps Ink and React in chunks of their own,
// loaded only when the interactive wizard starts, so `tdx-wizard --version` and the
// non-interactive commands start fast.
import {build} from 'esbuild';
import {chmod, rm} from 'node:fs/promises';

await rm('dist', {recursive: true, force: true});
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  banner: {js: '#!/usr/bin/env node'},
  jsx: 'automatic',
  logLevel: 'warning',
});
await chmod('dist/cli.js', 0o755);
