// Bundles the CLI into dist/ with esbuild (options in scripts/bundle-options.mjs).
import {build} from 'esbuild';
import {chmod, readFile, rm, writeFile} from 'node:fs/promises';
import {bundleOptions} from './bundle-options.mjs';

// The #! line starts Node without NODE_EXTRA_CA_CERTS (kept aside for the commands the wizard
// runs; src/cli.ts puts it back): Node 20 loads that certificate file, and its own root store,
// at start-up (nodejs/node#40524), 80-90 ms on the 2-core machines here, for TLS the wizard never
// makes. GNU env's -S splits the line and expands ${VAR} (coreutils >= 8.30).
// --max-semi-space-size=4: V8's young generation grows to 2 x 8 MiB (Node 20's default) under a
// steady stream of short-lived strings (a serial-log flood, a command's output) and keeps it; at
// 2 x 4 MiB the log pane's peak RSS under 50,000 lines/s is 83-85 MB instead of 88-91 and the
// output pane's 76 MB instead of 96, in the same time (BENCHMARKS.md, rows 6 and 10). Smaller
// (1 or 2) promotes short-lived objects to the old generation and peaks higher.
const HASHBANG = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS TDX_WIZARD_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --max-semi-space-size=4';

await rm('dist', {recursive: true, force: true});
await build({...bundleOptions, entryPoints: ['src/cli.ts'], outdir: 'dist'});
// The #! line goes on the entry only (a banner would put it on every chunk).
await writeFile('dist/cli.js', `${HASHBANG}\n${await readFile('dist/cli.js', 'utf8')}`);
await chmod('dist/cli.js', 0o755);
