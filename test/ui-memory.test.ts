// The interactive UI sets two V8 settings as it loads (src/load-ui.ts). The one that can be seen
// from JavaScript: the young generation stops growing. Without it, a process that keeps many short
// lived objects (a log pane under a flood) doubles its young generation up to 2 x 16 MiB.
// Checked in a fresh process of the code as it is bundled: the test runner's own heap has grown.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {build} from 'esbuild';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {bundleOptions} from '../scripts/bundle-options.mjs';

let dir: string;

const PROGRAM = `
import {getHeapSpaceStatistics} from 'node:v8';
import {loadUi} from ${JSON.stringify(resolve('src/load-ui.ts'))};
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
if (process.argv[2] === 'ui') await loadUi();
const before = newSpace();
let kept = [];
for (let i = 0; i < 1_500_000; i++) {
  kept.push({i, text: 'serial line ' + i});
  if (kept.length > 20_000) kept = kept.slice(10_000);
}
console.log(JSON.stringify({before, after: newSpace()}));
`;

function run(mode: 'ui' | 'plain'): {before: number; after: number} {
  const r = spawnSync(process.execPath, [join(dir, 'out', 'program.js'), mode], {encoding: 'utf8', timeout: 60_000});
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('the UI keeps its young generation small', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tdxw-ui-memory-'));
    writeFileSync(join(dir, 'program.mjs'), PROGRAM);
    await build({...bundleOptions, entryPoints: [join(dir, 'program.mjs')], outdir: join(dir, 'out'), logLevel: 'silent'});
  }, 60_000);
  afterAll(() => rmSync(dir, {recursive: true, force: true}));

  it('grows without the UI (the check can fail)', () => {
    const {before, after} = run('plain');
    expect(after).toBeGreaterThan(before);
  }, 60_000);

  it('stays where it was once the UI is loaded', () => {
    const {before, after} = run('ui');
    expect(after).toBe(before);
  }, 60_000);
});
