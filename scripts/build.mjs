// Bundles the CLI into dist/ with esbuild (options in scripts/bundle-options.mjs):
//   dist/cli.js           the entry (CommonJS: Node starts one 7 ms sooner than an ES module)
//   dist/cmd/NAME.cjs     each command that never shows the UI, one file with a V8 code cache
//                         beside it (NAME.cjs.cache; src/command-bundle.ts says why)
//   dist/esm/             the ES module build, split in chunks: help, the wizard, `logs`
import {build} from 'esbuild';
import {execFile} from 'node:child_process';
import {chmod, mkdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import {bundleOptions, commandBundleFault, commandBundleOptions, commonJsOptions, entryOptions} from './bundle-options.mjs';

// The #! line starts Node without NODE_EXTRA_CA_CERTS (kept aside for the commands the wizard
// runs; src/cli.ts puts it back): Node 20 loads that certificate file, and its own root store,
// at start-up (nodejs/node#40524), 80-90 ms on the 2-core machines here, for TLS the wizard never
// makes. GNU env's -S splits the line and expands ${VAR} (coreutils >= 8.30).
// No V8 flag here: any flag (--max-semi-space-size=4 was tried: 8-20 MB less at the peak of the
// log and output panes) changes V8's flag hash, and Node then rejects the code cache of its own
// built-in modules (child_process, net, stream... which commander loads) and compiles them: 8-13 ms
// more at every start, verify's 130 ms among them (BENCHMARKS.md); V8 would refuse the commands'
// code caches too.
// MALLOC_ARENA_MAX=1: glibc gives each thread that mallocs an arena of its own and keeps what was
// freed in it; V8's compiler threads left the log pane 6 MB larger after a flood (74 -> 68 MB,
// CPU unchanged, bench/log-ab.mjs; create and verify unchanged). glibc reads it as Node starts;
// src/cli.ts gives the operator's own value (or none) back to the programs the wizard starts.
// The line stays under 128 bytes, what kernels before 5.1 read of it (hence the short names).
const HASHBANG = '#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS TDXW_CA=${NODE_EXTRA_CA_CERTS} TDXW_ARENA=${MALLOC_ARENA_MAX} MALLOC_ARENA_MAX=1 node';
if (HASHBANG.length >= 127) throw new Error(`the #! line is ${HASHBANG.length} bytes: kernels before 5.1 read 128 of it, newline included`);

await rm('dist', {recursive: true, force: true});
await mkdir('dist/esm', {recursive: true});
// Each directory says what its .js files are (the project's package.json says ES modules).
await writeFile('dist/package.json', '{"type": "commonjs"}\n');
await writeFile('dist/esm/package.json', '{"type": "module"}\n');
await build({...bundleOptions, entryPoints: ['src/main.ts'], outdir: 'dist/esm'});
await build({...entryOptions, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: {js: `${HASHBANG}\n${entryOptions.banner.js}`}});
await chmod('dist/cli.js', 0o755);

// The commands' one-file builds: the names come from src/command-names.ts.
const names = await build({entryPoints: ['src/command-names.ts'], bundle: true, format: 'esm', write: false, logLevel: 'warning'});
const {COMMAND_NAMES, UI_COMMANDS} = await import(`data:text/javascript,${encodeURIComponent(names.outputFiles[0].text)}`);
const bundled = COMMAND_NAMES.filter((name) => !UI_COMMANDS.includes(name));
const {metafile} = await build({...commandBundleOptions(bundled), outdir: 'dist'});
for (const [file, output] of Object.entries(metafile.outputs)) {
  const fault = commandBundleFault(output);
  if (fault) throw new Error(`${file}: ${fault}`);
}
// The cache is V8's compiled code after the command's top level ran (its --help), made by a Node
// started as the #! line starts it: no flags, or V8 refuses the cache at run time.
const env = {...process.env, TDX_WIZARD_STATE_DIR: '/nonexistent/tdx-wizard-build'};
delete env.NODE_OPTIONS;
// scripts/code-cache.ts seals each cache with the functions that read it (src/command-bundle.ts).
const maker = join(tmpdir(), `tdx-wizard-code-cache-${process.pid}.cjs`);
await build({...commonJsOptions, entryPoints: ['scripts/code-cache.ts'], outfile: maker});
const run = promisify(execFile);
const pending = [...bundled];
try {
  await Promise.all(
    [1, 2, 3].map(async () => {
      for (let name; (name = pending.shift()); ) await run(process.execPath, [maker, `dist/cmd/${name}.cjs`, name], {env});
    }),
  );
} finally {
  await rm(maker, {force: true});
}
