// What the installed e2fsprogs can do, read from mkfs.ext4's own words.
import {describe, expect, it} from 'vitest';
import {atLeast, mke2fsVersion, parseMke2fsVersion, PREZEROED_SINCE} from '../src/volume/e2fsprogs.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {requireTools} from './helpers/tools.js';

describe('e2fsprogs version', () => {
  it("reads mke2fs's version line, with or without a third number", () => {
    expect(parseMke2fsVersion('mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0')).toEqual([1, 47, 0]);
    expect(parseMke2fsVersion('mke2fs 1.46.5 (30-Dec-2021)')).toEqual([1, 46, 5]);
    expect(parseMke2fsVersion('mke2fs 1.47 (1-Jan-2030)')).toEqual([1, 47, 0]);
    expect(parseMke2fsVersion('mkfs.ext4: command not found')).toBeUndefined();
    expect(parseMke2fsVersion('')).toBeUndefined();
  });

  it('compares versions number by number, not as text', () => {
    expect(atLeast([1, 47, 0], PREZEROED_SINCE)).toBe(true);
    expect(atLeast([1, 47, 2], PREZEROED_SINCE)).toBe(true);
    expect(atLeast([1, 100, 0], PREZEROED_SINCE)).toBe(true);
    expect(atLeast([2, 0, 0], PREZEROED_SINCE)).toBe(true);
    expect(atLeast([1, 46, 99], PREZEROED_SINCE)).toBe(false);
    expect(atLeast([1, 9, 0], PREZEROED_SINCE)).toBe(false);
    expect(atLeast([0, 99, 99], PREZEROED_SINCE)).toBe(false);
  });

  it('asks the installed mkfs.ext4 through the runner, and understands its answer', async () => {
    requireTools('mkfs.ext4');
    const runner = new Runner({store: createAppStore()});
    const {version, said} = await mke2fsVersion(runner);
    expect(said).toMatch(/^mke2fs \d+\.\d+/);
    expect(version).toEqual(parseMke2fsVersion(said));
    expect(runner.store.getState().runs.map((r) => r.argv)).toEqual([['mkfs.ext4', '-V']]);
  });
});
