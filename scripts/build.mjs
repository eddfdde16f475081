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
  // Dependencies are bundled too: loading Ink file by file from node_modules (about 540 files) was
  // most of the wizard's start-up. Ink imports react-devtools-core only when DEV=true.
  external: ['react-devtools-core'],
  banner: {js: "#!/usr/bin/env node\nimport {createRequire as __tdxRequire} from 'node:module';\nconst require = __tdxRequire(import.meta.url);"},
  jsx: 'automatic',
  logLevel: 'warning',
});
await chmod('dist/cli.js', 0o755);
