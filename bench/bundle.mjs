// Bundles a benchmark's own programs with the options dist/ is bundled with
// (scripts/bundle-options.mjs), into node_modules/.cache/tdx-wizard-bench/NAME: inside the project,
// so that their bare imports (ink, react, execa...) resolve from node_modules.
import {mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {build} from 'esbuild';
import {bundleOptions} from '../scripts/bundle-options.mjs';

export async function bundleBench(name, entryPoints) {
  const outdir = join(resolve('node_modules/.cache/tdx-wizard-bench'), name);
  rmSync(outdir, {recursive: true, force: true});
  mkdirSync(outdir, {recursive: true});
  writeFileSync(join(outdir, 'package.json'), '{"type": "module"}\n'); // no package scope under node_modules/
  await build({...bundleOptions, entryPoints, outdir});
  return outdir;
}
