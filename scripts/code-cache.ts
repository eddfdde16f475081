// Bundled and run by scripts/build.mjs, in a Node of its own with no flags, as
// `node CODE-CACHE dist/cmd/NAME.cjs NAME`: writes dist/cmd/NAME.cjs.cache, V8's code for that
// one-file build after its top level ran (as `tdx-wizard NAME --help`), compiled and sealed by
// the functions that read it at run time (src/command-bundle.ts).
import {readFileSync, renameSync, writeFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {compile, runScript, sealCache} from '../src/command-bundle.js';

const file = resolve(process.argv[2]!);
const name = process.argv[3]!;
const source = readFileSync(file);
const script = compile(source.toString('utf8'), file);
process.argv = [process.argv[0]!, resolve('dist/cli.js'), name, '--help'];
process.stdout.write = () => true; // the help text: not wanted here
process.on('exit', () => {
  // Written whole or not at all: a half-written cache must never be what a run reads.
  writeFileSync(`${file}.cache.tmp`, sealCache(source, script.createCachedData()));
  renameSync(`${file}.cache.tmp`, `${file}.cache`);
});
runScript(script, file);
