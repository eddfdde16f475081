// What a command loads as it starts: the modules its entry reaches through static imports (the
// rest of the bundle loads through import() when asked). Each module is compiled at every start,
// and the interactive UI keeps them in memory for as long as it runs.
import {build, type Metafile} from 'esbuild';
import {beforeAll, describe, expect, it} from 'vitest';
import {bundleOptions, commandBundleOptions} from '../scripts/bundle-options.mjs';

let meta: Metafile;

/** Inputs reached from `entry` through static imports and require() calls. */
function reached(entry: string): string[] {
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

describe('what a command loads as it starts', () => {
  beforeAll(async () => {
    const result = await build({...bundleOptions, entryPoints: ['src/cli.ts'], write: false, metafile: true, outdir: '/nonexistent', logLevel: 'silent'});
    meta = result.metafile!;
  }, 60_000);

  // Ink's text caches keep every text they ever saw: the bundle takes bounded ones instead (ink-caches.test.ts).
  it('the UI: Ink measures and wraps text with the bounded caches, not its own', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('components/inkMeasureText.ts');
    expect(inputs).toContain('components/inkWrapText.ts');
    expect(inputs.filter((i) => /ink\/build\/(measure|wrap)-text\.js$/.test(i))).toEqual([]);
  });

  // Trusted storage's modules (kubernetes-models and yaml, about 650 KB of code) were 2 MB of the
  // log pane's memory and their compile time at every start of the wizard.
  it('the UI: not trusted storage\'s manifests, kubernetes-models or yaml (loaded when its screen asks)', () => {
    const heavy = (path: string) => /node_modules\/(kubernetes-models|yaml)\/|src\/trusted\/manifests\.ts$/.test(path);
    expect(Object.keys(meta.inputs).filter(heavy).length).toBeGreaterThan(0); // the check can fail: they are in the bundle
    expect(reached('components/run.tsx').filter(heavy)).toEqual([]);
  });

  // create --vm checks the hostname rule only; prepare's run brought its config volume, the
  // launcher and the hints (about 150 KB) into every create's start.
  it('create: not prepare, the config volume or the hints', () => {
    const heavy = (path: string) => /src\/prepare\/run\.ts$|src\/config-volume\/|assets\/hints\.json$/.test(path);
    expect(reached('src/commands/prepare.ts').filter(heavy).length).toBeGreaterThan(0); // the check can fail: prepare loads them
    expect(reached('src/commands/create.ts').filter(heavy)).toEqual([]);
  });

  // Its one-file build (dist/cmd/create.cjs) has every module create can reach, import() too.
  it('create\'s one-file build: not prepare, the config volume or the hints either', async () => {
    const heavy = (path: string) => /src\/prepare\/run\.ts$|src\/config-volume\/|assets\/hints\.json$/.test(path);
    const inputs = async (name: string) => {
      const result = await build({...commandBundleOptions([name]), write: false, outdir: '/nonexistent', logLevel: 'silent'});
      return Object.values(result.metafile!.outputs).flatMap((o) => Object.keys(o.inputs));
    };
    expect((await inputs('prepare')).filter(heavy).length).toBeGreaterThan(0); // the check can fail
    expect((await inputs('create')).filter(heavy)).toEqual([]);
  }, 60_000);
});
