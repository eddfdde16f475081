// Ink keeps every text it ever measured (measure-text.js) and wrapped (wrap-text.js) in caches that
// never shrink: under a flood of serial lines every frame of the log pane is a new text, so the
// pane's memory grew by each frame for as long as it ran. The bundle swaps both modules for ones
// with bounded caches (scripts/bundle-options.mjs) that give the same answers.
import {build} from 'esbuild';
import {describe, expect, it} from 'vitest';
import inkMeasureText from '../node_modules/ink/build/measure-text.js';
import inkWrapText from '../node_modules/ink/build/wrap-text.js';
import measureText, {measuredTexts} from '../components/inkMeasureText.js';
import wrapText, {wrappedTexts} from '../components/inkWrapText.js';
import {bundleOptions} from '../scripts/bundle-options.mjs';

const SAMPLES = ['', 'plain', 'two\nlines', '\x1b[31mred\x1b[39m text', '日本語 wide', 'a much longer line that has to be wrapped or cut somewhere', 'e\u0301t\u00e9 ✔︎ 👍🏽'];

describe('bounded text caches for Ink', () => {
  it('measure as Ink measures', () => {
    for (const text of SAMPLES) expect(measureText(text), JSON.stringify(text)).toEqual(inkMeasureText(text));
  });

  it('wrap and cut as Ink does', () => {
    for (const text of SAMPLES) {
      for (const width of [1, 5, 12]) {
        for (const how of ['wrap', 'truncate', 'truncate-middle', 'truncate-start', 'end'] as const) expect(wrapText(text, width, how), `${JSON.stringify(text)} ${width} ${how}`).toBe(inkWrapText(text, width, how));
      }
    }
  });

  it('keep a bounded number of texts, whatever number of frames passes through them', () => {
    for (let frame = 0; frame < 20_000; frame++) {
      const text = `frame ${frame}\n${'serial line '.repeat(8)}${frame}`;
      measureText(text);
      wrapText(text, 40, 'wrap');
    }
    expect(measuredTexts()).toBeLessThanOrEqual(1000);
    expect(wrappedTexts()).toBeLessThanOrEqual(1000);
  });

  it('are the ones the bundle uses', async () => {
    const result = await build({...bundleOptions, entryPoints: ['components/run.tsx'], write: false, metafile: true, outdir: '/nonexistent', logLevel: 'silent'});
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs).toContain('components/inkMeasureText.ts');
    expect(inputs).toContain('components/inkWrapText.ts');
    expect(inputs.filter((i) => /ink\/build\/(measure|wrap)-text\.js$/.test(i))).toEqual([]);
  }, 60_000);
});
