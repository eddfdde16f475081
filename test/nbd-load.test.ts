// loadModule with the stand-in modprobe: load and wait, already loaded, missing, persistence.
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {loadModule} from '../src/nbd/load.js';
import {nbdTest, ran, type NbdTest} from './helpers/nbd-setup.js';

let t: NbdTest;
afterEach(async () => t.done());

describe('load the nbd module', () => {
  it('not loaded: modprobe nbd max_part=8, then waits for the devices that appear later', async () => {
    t = nbdTest({module: 'missing'}, {FAKE_MODPROBE_DELAY_MS: '400'});
    const started = Date.now();
    const r = await loadModule(t.runner, t.host.roots);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(t.host.log()).toEqual(['modprobe nbd max_part=8']);
    expect(r).toMatchObject({loaded: true, loadedNow: true, nbdsMax: 16, maxPart: 8, devices: 16, persisted: []});
    expect(existsSync(join(t.host.roots.dev, 'nbd0'))).toBe(true);
  });

  it('already loaded with other parameters: runs nothing and explains they are fixed', async () => {
    t = nbdTest({devices: 4, maxPart: 0});
    const r = await loadModule(t.runner, t.host.roots);
    expect(ran(t.runner)).toEqual([]);
    expect(r).toMatchObject({loaded: true, loadedNow: false, nbdsMax: 4, maxPart: 0});
    expect(r.notes.join('\n')).toMatch(/already loaded \(nbds_max=4, max_part=0\).*fixed when it was loaded/);
    expect(r.notes.join('\n')).toContain('modprobe -r nbd && modprobe nbd max_part=8');
  });

  it('the kernel has no nbd module: a failure with the package to install', async () => {
    t = nbdTest({module: 'missing'}, {FAKE_MODPROBE: 'missing'});
    await expect(loadModule(t.runner, t.host.roots)).rejects.toMatchObject({
      message: 'this kernel has no nbd module',
      output: [expect.stringContaining('Module nbd not found in directory')],
      fix: expect.stringContaining('linux-modules-extra'),
    });
  });

  it('loaded, but no device ever appears (nbds_max=0): says why', async () => {
    t = nbdTest({module: 'missing'}, {FAKE_MODPROBE_NBDS_MAX: '0'});
    await expect(loadModule(t.runner, t.host.roots, {timeoutMs: 500})).rejects.toThrow('nbd was loaded but nbds_max is 0 (set in /etc/modprobe.d?), so the module creates no devices');
  });

  it('--persist: writes both files under the etc root, once; never over a different file', async () => {
    t = nbdTest({module: 'missing'});
    const r = await loadModule(t.runner, t.host.roots, {persist: true});
    const load = join(t.host.roots.etc, 'modules-load.d', 'nbd.conf');
    const opts = join(t.host.roots.etc, 'modprobe.d', 'nbd.conf');
    expect(r.persisted).toEqual([load, opts]);
    expect(readFileSync(load, 'utf8')).toMatch(/^nbd$/m);
    expect(readFileSync(opts, 'utf8')).toMatch(/^options nbd max_part=8$/m);
    expect(ran(t.runner).slice(1)).toEqual([expect.stringContaining(`> ${load}`), expect.stringContaining(`> ${opts}`)]);

    const again = await loadModule(t.runner, t.host.roots, {persist: true});
    expect(again.persisted).toEqual([]);

    t.host.write('etc/modprobe.d/nbd.conf', 'options nbd nbds_max=4\n');
    t.host.write('etc/modules-load.d/nbd.conf', '');
    const other = await loadModule(t.runner, t.host.roots, {persist: true});
    expect(other.persisted).toEqual([]);
    expect(other.notes.filter((n) => n.includes('exists with other content'))).toHaveLength(2);
    expect(readFileSync(opts, 'utf8')).toBe('options nbd nbds_max=4\n');
  });
});
