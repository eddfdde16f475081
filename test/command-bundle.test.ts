// The commands that never show the UI run from one CommonJS file each (dist/cmd/NAME.cjs) with a
// V8 code cache the build made (src/command-bundle.ts); everything else, and any command whose
// one-file build is missing, from the ES module build (dist/esm/). A cache is only given to V8
// when it is whole and made for the file beside it: V8 itself checks neither.
import {spawnSync} from 'node:child_process';
import {cpSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {build} from 'esbuild';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {commandBundleFault, commandBundleOptions} from '../scripts/bundle-options.mjs';
import {cacheFor, nodeTag} from '../src/command-bundle.js';
import {CLI} from './helpers/cli.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let volume: string;
let hook: string;

beforeAll(() => {
  tmp = tempDir('tdxw-bundle-');
  volume = join(tmp.path, 'cache.qcow2');
  const made = spawnSync('sh', ['-c', `truncate -s 200M "$1.raw" && mkfs.ext4 -q -L tdx-cache "$1.raw" && qemu-img convert -f raw -O qcow2 "$1.raw" "$1"`, 'make', volume], {encoding: 'utf8'});
  expect(made.status, `mkfs.ext4 (e2fsprogs) and qemu-img (qemu-utils): ${made.stderr}`).toBe(0);
  // Prints, at exit, what src/command-bundle.ts recorded of the load (nothing if it did none).
  hook = join(tmp.path, 'loaded.cjs');
  writeFileSync(hook, `process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(globalThis[Symbol.for('tdx-wizard.command-bundle')] ?? null) + '\\n'));\n`);
});
afterAll(() => tmp.remove());

function run(cli: string, args: string[]) {
  const r = spawnSync(process.execPath, ['-r', hook, cli, ...args], {env: {...process.env, CI: 'true', TDX_WIZARD_STATE_DIR: join(tmp.path, 'state')}, encoding: 'utf8', timeout: 60_000});
  const loaded = JSON.parse(/^LOADED (.*)$/m.exec(r.stderr)?.[1] ?? 'undefined') as {file: string; codeCache: string} | null;
  return {status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^LOADED .*\n/m, ''), loaded};
}

/** A copy of dist/ to damage. */
function distCopy(name: string): string {
  const dir = join(tmp.path, name);
  cpSync(dirname(CLI), dir, {recursive: true});
  return join(dir, 'cli.js');
}

describe('one-file builds of the commands', () => {
  it('verify and create run from theirs, and V8 takes the code cache the build made', () => {
    const verify = run(CLI, ['verify', volume]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/will accept it/);
    expect(verify.loaded).toEqual({file: join(dirname(CLI), 'cmd', 'inspect.cjs'), codeCache: 'accepted'});
    const create = run(CLI, ['--dry-run', 'create', join(tmp.path, 'new.qcow2'), '5000G']);
    expect(create.status, create.stderr).toBe(0);
    expect(create.loaded).toEqual({file: join(dirname(CLI), 'cmd', 'create.cjs'), codeCache: 'accepted'});
  });

  // Node 20 cannot import() in a script compiled from a code cache, in a fresh process: the
  // one-file builds require() the built-ins the ES module build imports when first used.
  it('a built-in loaded when first used loads there too: zlib, for a volume with compressed clusters', () => {
    const compressed = join(tmp.path, 'compressed.qcow2');
    const made = spawnSync('qemu-img', ['convert', '-c', '-f', 'qcow2', '-O', 'qcow2', volume, compressed], {encoding: 'utf8'});
    expect(made.status, `qemu-img (qemu-utils): ${made.stderr}`).toBe(0);
    const r = run(CLI, ['verify', compressed]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ext4 labelled "tdx-cache".*will accept it/);
    expect(r.loaded?.codeCache).toBe('accepted');
  });

  it('help, the wizard\'s door and logs (it may show the UI) go through the ES module build', () => {
    for (const args of [['--help'], ['logs', '--help'], []]) {
      const r = run(CLI, args);
      expect(r.loaded, args.join(' ')).toBeNull();
      expect(r.stdout + r.stderr, args.join(' ')).toMatch(/Usage: tdx-wizard|needs a terminal/);
    }
  });

  it('a damaged cache is not given to V8 (it would stop Node with a fatal error); the command does the same', () => {
    const cli = distCopy('damaged');
    const cache = join(dirname(cli), 'cmd', 'inspect.cjs.cache');
    const bytes = readFileSync(cache);
    for (let i = 5000; i < bytes.length; i += 7919) bytes[i]! ^= 0x5a; // deep in the payload, past V8's own checks
    writeFileSync(cache, bytes);
    const r = run(cli, ['verify', volume]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(run(CLI, ['verify', volume]).stdout);
    expect(r.loaded?.codeCache).toBe('damaged');
  });

  it('a cache made for another source of the same length is not used: the file as it is now runs', () => {
    const cli = distCopy('edited');
    const file = join(dirname(cli), 'cmd', 'inspect.cjs');
    const source = readFileSync(file, 'utf8');
    expect(source).toContain('will accept it');
    writeFileSync(file, source.replaceAll('will accept it', 'WILL ACCEPT IT')); // same length: V8's own check passes
    const r = run(cli, ['verify', volume]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/WILL ACCEPT IT/);
    expect(r.loaded?.codeCache).toBe('damaged');
  });

  // V8's own check leaves out Node's patch of its version (most of Node 20 is 11.3.244.8-node.N).
  it('a cache made by another Node is not given to V8, even one V8 would take', () => {
    const file = join(dirname(CLI), 'cmd', 'inspect.cjs');
    const source = readFileSync(file);
    const cache = readFileSync(`${file}.cache`);
    expect(cacheFor(source, cache)?.length).toBe(cache.length - 32); // this Node's: taken
    expect(cacheFor(source, cache, nodeTag().replace(process.version, 'v20.0.0'))).toBeUndefined();
  });

  it('a cache V8 refuses (made by another Node, or flags given) is compiled from the source', () => {
    const r = spawnSync(process.execPath, ['--max-semi-space-size=4', '-r', hook, CLI, 'verify', volume], {env: {...process.env, TDX_WIZARD_STATE_DIR: join(tmp.path, 'state')}, encoding: 'utf8'});
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/"codeCache":"rejected"/);
  });

  it('without its one-file build a command runs from the ES module build, the same', () => {
    const cli = distCopy('no-bundle');
    rmSync(join(dirname(cli), 'cmd', 'inspect.cjs'));
    const r = run(cli, ['verify', volume]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.loaded).toBeNull();
    expect(r.stdout).toBe(run(CLI, ['verify', volume]).stdout);
  });

  it('the build refuses a one-file build with the UI in it, or an import() a script cannot do', async () => {
    // logs may open the log pane: Ink's top-level await cannot even be CommonJS.
    await expect(build({...commandBundleOptions(['logs']), write: false, outdir: '/nonexistent', logLevel: 'silent'})).rejects.toThrow(/Top-level await/);
    // What the check after the build says of an output (as esbuild's metafile describes it).
    const output = (inputs: string[], dynamic: string[] = []) => ({inputs: Object.fromEntries(inputs.map((i) => [i, {bytesInOutput: 1}])), imports: dynamic.map((path) => ({path, kind: 'dynamic-import' as const, external: true}))});
    expect(commandBundleFault(output(['src/program.ts', 'node_modules/ink/build/render.js']))).toMatch(/UI in it .*ink.*UI_COMMANDS/);
    expect(commandBundleFault(output(['src/program.ts'], ['node:zlib']))).toMatch(/import\('node:zlib'\).*code cache/);
    expect(commandBundleFault(output(['src/program.ts']))).toBeUndefined();
    const create = await build({...commandBundleOptions(['create']), write: false, outdir: '/nonexistent', logLevel: 'silent'});
    const [made] = Object.values(create.metafile!.outputs).filter((o) => o.entryPoint);
    expect(commandBundleFault(made!)).toBeUndefined();
  }, 60_000);
});
