// What the interactive UI loads as it starts (the wizard's menu, the log pane): the modules its
// entry reaches through static imports. Trusted storage's (kubernetes-models and yaml, about 650 KB
// of code) load only when its screen asks: loaded with the UI they were 2 MB of the log pane's
// memory and their compile time at every start.
import {build, type Metafile} from 'esbuild';
import {describe, expect, it} from 'vitest';
import {bundleOptions} from '../scripts/bundle-options.mjs';

/** Inputs reached from `entry` through static imports and require() calls. */
function reached(meta: Metafile, entry: string): string[] {
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length) {
    for (const i of meta.inputs[queue.shift()!]?.imports ?? []) {
      if ((i.kind === 'import-statement' || i.kind === 'require-call') && !seen.has(i.path)) {
        seen.add(i.path);
        queue.push(i.path);
      }
    }
  }
  return [...seen];
}

describe('what the UI loads as it starts', () => {
  it('not trusted storage\'s manifests, kubernetes-models or yaml (they are in the bundle, loaded when asked)', async () => {
    const result = await build({...bundleOptions, entryPoints: ['components/run.tsx'], write: false, metafile: true, outdir: '/nonexistent', logLevel: 'silent'});
    const all = Object.keys(result.metafile!.inputs);
    const heavy = (path: string) => /node_modules\/(kubernetes-models|yaml)\/|src\/trusted\/manifests\.ts$/.test(path);
    expect(all.filter(heavy).length).toBeGreaterThan(0); // the check can fail: they are there, behind import()
    expect(reached(result.metafile!, 'components/run.tsx').filter(heavy)).toEqual([]);
  }, 60_000);
});
