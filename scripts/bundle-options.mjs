// The esbuild options dist/ is bundled with (scripts/build.mjs), shared with the benchmark that
// bundles a program of its own from the sources (bench/output.mjs), so both load the same code.
import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

// Modules of Ink replaced in the bundle: its screen buffer by components/fastOutput.ts (the same
// cells, without an object per cell for rows of plain text and colours: most of a log pane frame's
// cost under a flood), its widest-line by components/fastWidestLine.ts (the same widths, counted),
// and its text measuring and wrapping by components/inkMeasureText.ts and inkWrapText.ts (the same
// answers, from caches that keep 1000 texts instead of every text of every frame).
const INK_SWAPS = {
  './output.js': '../components/fastOutput.ts',
  'widest-line': '../components/fastWidestLine.ts',
  './measure-text.js': '../components/inkMeasureText.ts',
  './wrap-text.js': '../components/inkWrapText.ts',
};
const inkSwaps = {
  name: 'ink-swaps',
  setup(build) {
    build.onResolve({filter: new RegExp(`^(${Object.keys(INK_SWAPS).map((k) => k.replace(/[.\/]/g, '\\$&')).join('|')})$`)}, (args) =>
      /[\\/]ink[\\/]build$/.test(args.resolveDir) ? {path: fileURLToPath(new URL(INK_SWAPS[args.path], import.meta.url))} : undefined,
    );
  },
};

// commander requires node:child_process as it loads, for executable subcommands, which this CLI
// does not have; Node's child_process brings net, stream, dgram... 4-5 ms of every command's start
// (verify's among them). In the bundle it is required at its first use instead.
const LAZY_CHILD_PROCESS = "const childProcess = {spawn: (...args) => require('node:child_process').spawn(...args)};";
const commanderLazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(build) {
    build.onLoad({filter: /[\\/]commander[\\/]lib[\\/]command\.js$/}, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`${args.path}: commander no longer has the line ${eager} (scripts/bundle-options.mjs)`);
      return {contents: source.replace(eager, LAZY_CHILD_PROCESS), loader: 'js'};
    });
  },
};

export const bundleOptions = {
  plugins: [inkSwaps, commanderLazyChildProcess],
  bundle: true,
  // Code splitting keeps Ink and React in chunks of their own, loaded only when the wizard or the
  // log pane starts, so `tdx-wizard --version` and the non-interactive commands start fast.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Node 20's V8 has the regexp `v` flag, which esbuild's node20 table lacks: without this it turns
  // string-width's /^\p{RGI_Emoji}$/v into new RegExp(...), which V8 builds at once (25-35 ms of
  // every start of the wizard here) instead of when first used (2 ms).
  supported: {'regexp-set-notation': true},
  jsx: 'automatic',
  // Dependencies are bundled too: loading Ink file by file from node_modules (about 540 files) was
  // most of the wizard's start-up. Ink imports react-devtools-core only when DEV=true.
  external: ['react-devtools-core'],
  // React's and the reconciler's production builds only. They pick their build from NODE_ENV at
  // run time, and the development builds (dev checks, component stacks and performance marks on
  // every render; a multiple of the render time and memory) were bundled, and parsed at every
  // start, for nothing: 0.7 MB of the 1.7 MB Ink chunk.
  define: {'process.env.NODE_ENV': '"production"'},
  // Some bundled CommonJS dependencies call require().
  banner: {js: "import {createRequire as __tdxRequire} from 'node:module';\nconst require = __tdxRequire(import.meta.url);"},
  // Whitespace and syntax only: names stay, so a stack trace still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

// The one-file build of each command that never shows the UI, dist/cmd/NAME.cjs, which
// src/cli.ts runs through src/command-bundle.ts with a code cache: CommonJS, because Node 20 can
// give a code cache to a script but not to an ES module. Each file has all the code its command
// needs (the runner, execa, commander) and nothing else; a process loads one of them or the ES
// module build, never both, so no module is there twice.
const commandEntries = {
  name: 'command-entries',
  setup(build) {
    build.onResolve({filter: /^command-entry:/}, (args) => ({path: args.path.slice('command-entry:'.length), namespace: 'command-entry'}));
    build.onLoad({filter: /.*/, namespace: 'command-entry'}, (args) => ({
      contents: `import {runProgram} from './program.ts';\nimport * as command from './commands/${args.path}.ts';\nvoid runProgram([command]);\n`,
      resolveDir: SRC,
      loader: 'ts',
    }));
  },
};

// What every CommonJS file of the build shares with the ES module build: minified, strict (as ES
// modules are: the same code as CommonJS must be too).
const {banner: _esmOnly, splitting: _splitting, plugins: esmPlugins, ...shared} = bundleOptions;
// import.meta would be an empty object there: an error, not esbuild's warning.
export const commonJsOptions = {...shared, format: 'cjs', banner: {js: '"use strict";'}, logOverride: {'empty-import-meta': 'error'}};

/** esbuild options for the one-file builds of `names` into outdir/cmd/. */
export function commandBundleOptions(names) {
  return {
    ...commonJsOptions,
    plugins: [...esmPlugins, commandEntries],
    // import() of Node's built-ins (zlib, readline: loaded when used) as require(): a script run
    // by vm cannot import() once compiled from a code cache (Node 20: "A dynamic import callback
    // was not specified", in a fresh process only).
    supported: {...shared.supported, 'dynamic-import': false},
    entryPoints: names.map((name) => ({in: `command-entry:${name}`, out: `cmd/${name}`})),
    outExtension: {'.js': '.cjs'},
    metafile: true,
  };
}

/** Why a one-file build cannot stand as it is (the UI in it, or an import() left for Node to do), or undefined. */
export function commandBundleFault(output) {
  const ui = Object.keys(output.inputs).find((input) => /node_modules\/(ink|react|react-reconciler|yoga-layout)\//.test(input));
  if (ui) return `it has the UI in it (${ui}): add the command to UI_COMMANDS in src/command-names.ts`;
  // A script run by vm cannot import() once compiled from a code cache: esbuild must have made each a require().
  const dynamic = output.imports.find((i) => i.kind === 'dynamic-import');
  if (dynamic) return `it leaves import('${dynamic.path}') to Node, which a script compiled from a code cache cannot do`;
  return undefined;
}

// The entry, dist/cli.js: CommonJS, with the ES module build (dist/esm/main.js) loaded by import()
// when no one-file build of the command answers.
const esmMain = {
  name: 'esm-main',
  setup(build) {
    build.onResolve({filter: /^\.\/main\.js$/}, () => ({path: './esm/main.js', external: true}));
  },
};
export const entryOptions = {
  ...commonJsOptions,
  plugins: [esmMain],
  // src/ is ES modules: import.meta.url is the file's own URL there, and here.
  define: {...shared.define, 'import.meta.url': '__tdxUrl'},
  banner: {js: `${commonJsOptions.banner.js}\nconst __tdxUrl = require("node:url").pathToFileURL(__filename).href;`},
};
