// The proof that `prepare` makes what each era's guest needs: the whole set made by the wizard, then
// every volume of it given to the real upstream guest scripts of that era (debug image), and the set
// to the production initramfs's device lookup (setup_storage) where the era has one.
import {join} from 'node:path';
import {mkdirSync, writeFileSync} from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {findEra, type EraId} from '../../src/era/eras.js';
import {attachAll, detachAll, guestAccepts, productionLookup} from '../helpers/guest.js';
import {VALID_SEED, VALID_SS58} from '../helpers/guest-volumes.js';
import {runCli} from '../helpers/cli.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let seedFile: string;
let runs = 0;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-prepared-');
  seedFile = join(tmp.path, 'seed');
  writeFileSync(seedFile, `${VALID_SEED}\n`, {mode: 0o600});
});
afterAll(() => tmp.remove());

/** `tdx-wizard prepare` into a fresh directory; the paths it reports, by role. */
function prepared(era: EraId, extra: string[] = [], hostname = 'miner-01'): Record<string, string> {
  const dir = join(tmp.path, `${era}-${runs++}`);
  mkdirSync(dir);
  const env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
  const args = ['prepare', '--json', '--era', era, '--dir', dir, '--hostname', hostname, '--force-small', '--cache-size', '1G', '--storage-size', '1G', '--containerd-size', '1G'];
  const r = runCli([...args, '--miner-ss58', VALID_SS58, '--miner-seed-file', seedFile, ...extra], {env});
  expect(r.code, r.stderr).toBe(0);
  const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result');
  return Object.fromEntries((result.volumes as Array<{role: string; path: string}>).map((v) => [v.role, v.path]));
}

/** Config volumes are one layout in every era; E5 on ships no guest config scripts in shared/upstream, so E4's judge them. */
const configEra = (era: EraId): EraId => (['E5', 'E5x', 'E6'].includes(era) ? 'E4' : era);

describe('every volume prepare makes passes the real guest scripts of its era', () => {
  for (const era of ['E1', 'E2', 'E3b', 'E4', 'E5', 'E6'] as const) {
    it(`${era}: ${findEra(era)!.volumes.map((v) => v.role).join(', ')}`, async () => {
      const set = prepared(era);
      for (const spec of findEra(era)!.volumes) {
        const r = await guestAccepts(spec.role === 'config' ? configEra(era) : era, spec.role, set[spec.role]!, undefined, {debug: true});
        expect(r.ok, `${era} ${spec.role}:\n${r.lines.join('\n')}`).toBe(true);
        if (spec.role === 'config') expect(r.files['/etc/hostname']).toBe('miner-01\n');
      }
    });
  }
  it('E6 with ext4 data volumes too (its debug image mounts Type=auto)', async () => {
    const set = prepared('E6', ['--fs', 'ext4'], 'miner-02');
    for (const role of ['cache', 'storage'] as const) expect((await guestAccepts('E6', role, set[role]!, undefined, {debug: true})).ok).toBe(true);
  });
});

describe("a production image's initramfs finds each prepared volume by its label", () => {
  for (const era of ['E4', 'E5', 'E6'] as const) {
    it(era, async () => {
      const set = prepared(era);
      const devices = await attachAll(['cache', 'storage', 'config'].map((role) => ({path: set[role]!, format: set[role]!.endsWith('.qcow2') ? ('qcow2' as const) : ('raw' as const)})));
      try {
        const [cache, storage] = devices;
        const r = await productionLookup(era, devices.map((d) => d.device));
        expect(r.ok, r.lines.join('\n')).toBe(true);
        expect({cache: r.cache, storage: r.storage}).toEqual({cache: cache!.device, storage: storage!.device});
      } finally {
        await detachAll(devices);
      }
    });
  }
});
