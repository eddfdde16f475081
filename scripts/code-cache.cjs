// node scripts/code-cache.cjs dist/cmd/NAME.cjs NAME: writes dist/cmd/NAME.cjs.cache, V8's code
// for that one-file build after its top level ran (as `tdx-wizard NAME --help`), compiled as
// compile() in src/command-bundle.ts compiles it at run time (the same wrapper, Module.wrap). Run by
// scripts/build.mjs, in a Node of its own with no flags.
'use strict';
const {createHash} = require('node:crypto');
const {readFileSync, renameSync, writeFileSync} = require('node:fs');
const {createRequire, Module} = require('node:module');
const {dirname, resolve} = require('node:path');
const {Script} = require('node:vm');

const file = resolve(process.argv[2]);
const name = process.argv[3];
const source = readFileSync(file);
const script = new Script(Module.wrap(source.toString('utf8')), {filename: file});
process.argv = [process.argv[0], resolve('dist/cli.js'), name, '--help'];
process.stdout.write = () => true; // the help text: not wanted here
process.on('exit', () => {
  // First a SHA-256 of this Node, the source and the cache: src/command-bundle.ts gives V8 only a
  // cache that is whole and made for this source by this Node (cacheFor()). Written whole or not
  // at all: a half-written cache must never be what a run reads.
  const cache = script.createCachedData();
  const node = `${process.version} ${process.versions.v8} ${process.arch}\n`; // nodeTag() in src/command-bundle.ts
  writeFileSync(`${file}.cache.tmp`, Buffer.concat([createHash('sha256').update(node).update(source).update(cache).digest(), cache]));
  renameSync(`${file}.cache.tmp`, `${file}.cache`);
});
const exported = {exports: {}};
script.runInThisContext()(exported.exports, createRequire(file), exported, file, dirname(file));
