// Bundles the CLI into dist/ with esbuild (options in scripts/bundle-options.mjs).
import {build} from 'esbuild';
import {chmod, readFile, rm, writeFile} from 'node:fs/promises';
import {bundleOptions} from './bundle-options.mjs';

// The #! line starts Node without NODE_EXTRA_CA_CERTS (kept aside for the commands the wizard
// runs; src/cli.ts puts it back): Node 20 loads that certificate file, and its own root store,
// at start-up (nodejs/node#40524), 80-90 ms on the 2-core machines here, for TLS the wizard never
// makes. GNU env's -S splits the line and expands ${VAR} (coreutils >= 8.30).
// No V8 flag here: any flag (--max-semi-space-size=4 was tried: 8-20 MB less at the peak of the
// log and output panes) changes V8's flag hash, and Node then rejects the code cache of its own
// built-in modules (child_process, net, stream... which commander loads) and compiles them: 8-13 ms
// more at every start, verify's 130 ms among them (BENCHMARKS.md).
const HASHBANG = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS TDX_WIZARD_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node';

await rm('dist', {recursive: true, force: true});
await build({...bundleOptions, entryPoints: ['src/cli.ts'], outdir: 'dist'});
// The #! line goes on the entry only (a banner would put it on every chunk).
await writeFile('dist/cli.js', `${HASHBANG}\n${await readFile('dist/cli.js', 'utf8')}`);
await chmod('dist/cli.js', 0o755);
