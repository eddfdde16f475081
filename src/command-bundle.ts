// Runs a command from its one-file build, dist/cmd/NAME.cjs (scripts/build.mjs), with the V8 code
// cache the build made for it beside it (scripts/code-cache.ts, with the functions below).
//
// Node 20 compiles every ES module at every start and has no cache for them (Node 22 has
// module.enableCompileCache). The ES module build of `create` is 38 modules, execa's 186 KB among
// them, each gone through Node's module loader and parsed at every start. One CommonJS file
// compiled with a code cache skips both: create 444 -> 390 ms, verify 113 -> 89 ms (alternated
// runs, the entry made CommonJS too; BENCHMARKS.md).
//
// The cache is made by the build and only read here: nothing at run time writes code that a
// later run executes. V8 checks it against its own version, its flags and the source's length,
// and compiles from the source when it does not match (Node upgraded since the build, a flag
// given): slower, never wrong. V8 does not check the rest: a cache made for another source of the
// same length would run that other code, and a damaged one stops Node with a fatal error (seen:
// bytes flipped in the middle). So the file starts with a SHA-256 of the Node that made it, the
// source and the cache (0.4 ms), and one that does not match is not given to V8. The digest finds
// damage and a mismatched pair, not tampering: the cache is build output, trusted as the file
// beside it is.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {createRequire, Module} from 'node:module';
import {dirname} from 'node:path';
import {Script} from 'node:vm';

/** What the last load did, for tests: the file and whether V8 took its code cache. */
export const LOADED = Symbol.for('tdx-wizard.command-bundle');
/** accepted; rejected by V8 (another Node, a flag); damaged (or made for another source); none (no file). */
export type CodeCache = 'accepted' | 'rejected' | 'damaged' | 'none';
const DIGEST_BYTES = 32;

/** Runs `file` as CommonJS; false if there is no such file (the caller loads the ES module build). */
export function runCommandBundle(file: string): boolean {
  let source: Buffer;
  try {
    source = readFileSync(file);
  } catch {
    return false;
  }
  let cache: Buffer | undefined;
  try {
    cache = readFileSync(`${file}.cache`);
  } catch {
    // none: compiled from the source
  }
  const cachedData = cache && cacheFor(source, cache);
  const script = compile(source.toString('utf8'), file, cachedData);
  const codeCache: CodeCache = !cache ? 'none' : !cachedData ? 'damaged' : script.cachedDataRejected ? 'rejected' : 'accepted';
  (globalThis as Record<symbol, unknown>)[LOADED] = {file, codeCache};
  runScript(script, file);
  return true;
}

/** Runs a script made by compile() as Node runs a CommonJS file: its own module, exports and require. */
export function runScript(script: Script, file: string): void {
  const module = {exports: {}};
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
}

/**
 * `source` as Node's own loader wraps a CommonJS file (Module.wrap); scripts/code-cache.ts
 * compiles it with this function too when it makes the cache. No import() is left in it (the build made
 * each a require()): Node 20 cannot run one in a script compiled from a code cache.
 */
export function compile(source: string, file: string, cachedData?: Buffer): Script {
  return new Script(Module.wrap(source), {filename: file, cachedData});
}

/**
 * The V8 cache in `file` if it is whole and made for `source` by this Node (as sealCache() wrote
 * it: a SHA-256 of the Node, the source and the cache, then the cache). V8's own version check leaves out Node's patch of it (11.3.244.8-node.38 is most of
 * Node 20): a cache from another Node 20 would reach V8's deserializer.
 */
export function cacheFor(source: Buffer, file: Buffer, node = nodeTag()): Buffer | undefined {
  if (file.length <= DIGEST_BYTES) return undefined;
  const cachedData = file.subarray(DIGEST_BYTES);
  return digest(node, source, cachedData).equals(file.subarray(0, DIGEST_BYTES)) ? cachedData : undefined;
}

/** The cache file's bytes for V8's `cachedData` of `source`, made by this Node: what cacheFor() takes. */
export function sealCache(source: Buffer, cachedData: Buffer): Buffer {
  return Buffer.concat([digest(nodeTag(), source, cachedData), cachedData]);
}

function digest(node: string, source: Buffer, cachedData: Buffer): Buffer {
  return createHash('sha256').update(node).update(source).update(cachedData).digest();
}

/** The Node a cache is for. */
export function nodeTag(): string {
  return `${process.version} ${process.versions.v8} ${process.arch}\n`;
}
