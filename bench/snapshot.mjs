// Imported first by run.mjs: benchmarks a private copy of the build, so that someone rebuilding
// dist/ meanwhile (npm test does) cannot pull it away mid-run. The copy lives under node_modules/
// so that the bundle's bare imports (ink, react...) still resolve. Sets TDX_BENCH_CLI for lib.mjs.
import {cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';

const source = dirname(resolve(process.env.TDX_BENCH_CLI ?? 'dist/cli.js'));
const copy = resolve(`node_modules/.cache/tdx-wizard-bench/dist-${process.pid}`);

function complete(dir) {
  if (!existsSync(join(dir, 'cli.js'))) return false;
  // Every chunk a file imports must be there (a rebuild may have been half-way); builds before
  // session 14 had their chunks beside cli.js, later ones in esm/.
  const chunks = existsSync(join(dir, 'esm', 'main.js')) ? join(dir, 'esm') : dir;
  return readdirSync(chunks).filter((f) => f.endsWith('.js')).every((f) =>
    [...readFileSync(join(chunks, f), 'utf8').matchAll(/["']\.\/([\w.-]+\.js)["']/g)].every((m) => existsSync(join(chunks, m[1]))));
}

for (let attempt = 0; ; attempt++) {
  rmSync(copy, {recursive: true, force: true});
  mkdirSync(dirname(copy), {recursive: true});
  try {
    cpSync(source, copy, {recursive: true});
    if (complete(copy)) break;
  } catch {
    // a rebuild removed files while copying: try again
  }
  if (attempt === 20) throw new Error(`cannot take a complete copy of ${source} (is it being rebuilt?)`);
  await new Promise((r) => setTimeout(r, 500));
}
// Files under node_modules/ have no package scope of their own. A build has its own package.json
// files (dist/ CommonJS, dist/esm/ ES modules); one from before session 14 was ES modules all
// through, as the project's package.json said (else Node would guess, parsing each file twice).
if (!existsSync(join(copy, 'package.json'))) writeFileSync(join(copy, 'package.json'), '{"type": "module"}\n');
process.env.TDX_BENCH_CLI = join(copy, 'cli.js');
process.on('exit', () => rmSync(copy, {recursive: true, force: true}));
