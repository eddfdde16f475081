// Bundles the CLI with esbuild. Code splitting keeps Ink and React in chunks of their own,
// loaded only when the interactive wizard starts, so `tdx-wizard --version` and the
// non-interactive commands start fast.
import {build} from 'esbuild';
import {chmod, rm} from 'node:fs/promises';

import {NODE_FLAGS} from './node-flags.mjs';

await rm('dist', {recursive: true, force: true});
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies are bundled too: loading Ink file by file from node_modules (about 540 files) was
  // most of the wizard's start-up. Ink imports react-devtools-core only when DEV=true.
  external: ['react-devtools-core'],
  // The #! line carries V8 flags (scripts/node-flags.mjs says which and why). They apply when the
  // file is run as a program (tdx-wizard, dist/cli.js), not as `node dist/cli.js`. env -S needs
  // coreutils >= 8.30 (Debian 10, Ubuntu 18.10).
  banner: {js: `#!/usr/bin/env -S node ${NODE_FLAGS}\nimport {createRequire as __tdxRequire} from 'node:module';\nconst require = __tdxRequire(import.meta.url);`},
  jsx: 'automatic',
  logLevel: 'warning',
});
await chmod('dist/cli.js', 0o755);
