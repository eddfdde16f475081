// The wizard's launch form and review from the era's adapter: which fields each launcher kind is
// asked for, and what the review says about the seed (masked and the exposure note where the
// launcher takes it; where it is instead for a config-volume launcher).
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import {launchPages} from '../src/wizard/launch.js';
import {reviewLaunch} from '../src/wizard/launch-review.js';
import {tempDir} from './helpers/tools.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';

const runner = () => new Runner({store: createAppStore(), dryRun: false});

const era = (id: string) => findEra(id)!;
const names = (id: string, settings = {}) => launchPages(era(id), settings, '/nowhere').map((p) => p.fields.map((f) => f.name));
const SEED = 'c0ffee'.repeat(10) + 'c0ff';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('tdxw-launch-form-')));
afterAll(() => tmp.remove());

describe('the launch form asks what the era\'s launcher takes', () => {
  it('run-td (E3b, E4, E5): the launcher and the set\'s volumes, then network and image; no credentials', () => {
    expect(names('E4')).toEqual([['launcher', 'volume:cache', 'volume:storage', 'volume:config'], ['networkType', 'netIface', 'sshPort', 'image']]);
    expect(names('E3b')[0]).toEqual(['launcher', 'volume:cache', 'volume:containerd', 'volume:config']);
    expect(launchPages(era('E4'), {}, '/nowhere')[1]!.intro).toBe('Step 2 of 2: the network (tap, user) and the guest image.');
  });

  it('E1 (run-tdx.sh): as before, the miner on the first page (the seed masked), the whole network on the second', () => {
    expect(names('E1')).toEqual([
      ['launcher', 'volume:cache', 'hostname', 'minerSs58', 'minerSeed'],
      ['networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'],
    ]);
    expect(launchPages(era('E1'), {}, '/nowhere')[0]!.fields.find((f) => f.name === 'minerSeed')?.secret).toBe(true);
  });

  it('the set\'s files come from the settings; a network type the launcher does not take is not offered', () => {
    const pages = launchPages(era('E4'), {volumes: {cache: '/v/c.qcow2', storage: '/v/s.qcow2', config: '/v/k.qcow2'}, networkType: 'macvtap'}, '/nowhere');
    expect(pages[0]!.fields.slice(1).map((f) => f.initial)).toEqual(['/v/c.qcow2', '/v/s.qcow2', '/v/k.qcow2']);
    const type = pages[1]!.fields.find((f) => f.name === 'networkType')!;
    expect(type.initial).toBe('tap');
    expect(type.validate!('macvtap')).toMatchObject({ok: false});
  });
});

describe('the review', () => {
  it('E1: the seed masked in the command, the exposure note said', async () => {
    const r = await reviewLaunch(join(tmp.path, 'run-tdx.sh'), era('E1'), {cacheVolume: join(tmp.path, 'c.qcow2'), hostname: 'h', minerSs58: 'x', minerSeed: SEED, networkType: 'user', extra: []}, '/sys', runner());
    expect(r.command).toContain('--miner-seed ');
    expect(r.command).not.toContain(SEED);
    expect(r.exposure).toMatch(/exposes the miner seed/);
    expect(r.seedNote).toBeUndefined();
    expect(r.problems.map((p) => p.text).join('\n')).toMatch(/c\.qcow2/); // the volume is not there: refused before Launch
  });

  it('run-td: the command from its directory, no exposure, the seed said to be in the config volume, a missing firmware refused', async () => {
    const launcher = join(tmp.path, 'host-tools/scripts/run-td');
    const volumes = {cache: join(tmp.path, 'c.qcow2'), storage: join(tmp.path, 's.qcow2'), config: join(tmp.path, 'k.qcow2')};
    const r = await reviewLaunch(launcher, era('E4'), {cacheVolume: volumes.cache, volumes, image: '/i.qcow2', networkType: 'user', extra: []}, '/sys', runner());
    expect(r.command).toBe(`cd ${join(tmp.path, 'host-tools/scripts')} && python3 ./run-td --pass-gpus --image /i.qcow2 --config-volume ${volumes.config} --network-type user --cache-volume ${volumes.cache} --storage-volume ${volumes.storage}`);
    expect(r.exposure).toBeUndefined();
    expect(r.seedNote).toMatch(/on no command line: the guest reads it from the config volume k\.qcow2/);
    expect(r.problems.map((p) => p.text).join('\n')).toMatch(/firmware\/TDVF\.fd/);
    expect(r.volumes.map((v) => v.note)).toEqual([`${volumes.cache} does not exist`, `${volumes.storage} does not exist`, `${volumes.config} does not exist`]);
  });
});
