// The era of each real upstream launcher, told from its files (shared/upstream), never by running it.
import {existsSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {describe, expect, it} from 'vitest';
import {detectEra} from '../../src/era/detect.js';

const UPSTREAM = resolve('../shared/upstream');
const cases: Array<[string, string, string, RegExp]> = [
  ['2025-11_run-tdx_chutesai-94a2200', 'host-tools/scripts/launch.sh', 'E1', /launch\.sh has "# run-tdx\.sh/],
  ['2025-11_run-vm_chutesai-a2ba679', 'host-tools/scripts/quick-launch.sh', 'E2', /run-vm\.sh|quick-launch\.sh/],
  ['2026-01_containerd_chutesai-e9c8032', 'host-tools/scripts/run-td', 'E3b', /run-td has "--containerd-volume"/],
  ['2026-02_doc-era_kierr-5255961', 'host-tools/scripts/run-td', 'E4', /run-td has "--storage-volume"/],
  ['2026-02_raw_kierr-c5a0b61', 'host-tools/scripts/run-td', 'E5', /quick-launch\.sh has "qcow2 volumes cannot be created"/],
  ['newest_rayonlabs-3a1a37cd', 'host-tools/scripts/quick-launch.sh', 'E6', /deprecated/],
];

describe('detectEra on the real upstream files', () => {
  it('finds the shared upstream files', () => expect(existsSync(UPSTREAM), `${UPSTREAM} is missing: the tests need shared/upstream beside the checkout`).toBe(true));
  for (const [dir, file, era, evidence] of cases) {
    it(`${dir}: ${era}`, async () => {
      const found = await detectEra(join(UPSTREAM, dir, file));
      expect(found?.era.id).toBe(era);
      expect(found?.evidence).toMatch(evidence);
    });
  }
  it('a file with no signature is no era', async () => {
    expect(await detectEra(resolve('package.json'))).toBeUndefined();
  });
});
