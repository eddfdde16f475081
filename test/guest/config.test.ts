// The config volume (E2, E3b, E4): verify-config-volume.sh (label lookup, ext4), var-config.mount,
// then config-manager.service's process-config.py, which validates the files and writes /etc/hostname,
// the miner credentials and the netplan file (into the sandbox's throwaway /etc and /var).
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {guestAccepts, guestRun} from '../helpers/guest.js';
import {configVolume, plainVolume, VALID_SEED, VALID_SS58} from '../helpers/guest-volumes.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-config-');
});
afterAll(() => tmp.remove());

const config = (files: Parameters<typeof configVolume>[2] = {}, opts: Parameters<typeof configVolume>[3] = {}) => configVolume(tmp.path, `config-${n++}.qcow2`, files, opts);
/** process-config.py's own log lines: "[YYYY-mm-dd HH:MM:SS] LEVEL: message", without the time. */
const own = (lines: string[]) => lines.flatMap((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (\w+: .*)$/.exec(l)?.[1] ?? []);

describe('config volume', () => {
  it.each(['E2', 'E3b', 'E4'] as const)('%s accepts a correct one and applies it', async (era) => {
    const r = await guestAccepts(era, 'config', config(), 'qcow2');
    expect(r.steps.map((s) => [s.name, s.code])).toEqual([['verify-config-volume.sh', 0], ['var-config.mount', 0], ['process-config.py', 0]]);
    expect(r.lines).toContain('=== Config Volume Verification Complete ===');
    expect(own(r.lines)).toContain('INFO: Config validation and application completed successfully');
    expect(r.files['/etc/hostname']).toBe('miner-01\n');
    expect(r.files['/var/lib/rancher/k3s/credentials/miner-ss58']).toBe(`${VALID_SS58}\n`);
    expect(r.files['/var/lib/rancher/k3s/credentials/miner-seed']).toBe(`${VALID_SEED}\n`);
    if (era === 'E4') expect(r.files['/etc/system-manager/miner.env']).toBe(`MINER_SS58=${VALID_SS58}\nMINER_SEED=${VALID_SEED}\n`);
  });

  it('fails a 63-character seed with its own ERROR lines', async () => {
    const r = await guestAccepts('E4', 'config', config({seed: VALID_SEED.slice(1)}), 'qcow2');
    expect(r.steps.at(-1)).toEqual({name: 'process-config.py', code: 1});
    expect(own(r.lines)).toEqual(expect.arrayContaining(['ERROR: Invalid miner seed: Seed length invalid: 63 (expected 64 hex characters)', 'ERROR: Config validation failed']));
    expect(r.files['/etc/hostname']).toBeUndefined();
  });

  it('fails a 64-character hostname with its own ERROR line', async () => {
    const r = await guestAccepts('E4', 'config', config({hostname: 'a'.repeat(64)}), 'qcow2');
    expect(r.ok).toBe(false);
    expect(own(r.lines)).toContain('ERROR: Invalid hostname: Hostname too long (max 63 characters)');
  });

  // Upstream's pattern is ^[a-zA-Z0-9-]+$: upper case passes process-config.py (and the
  // initramfs's [[:alnum:]_-]). A wizard that refuses it is stricter than the guest.
  it('accepts an upper-case hostname (upstream allows A-Z)', async () => {
    const r = await guestAccepts('E4', 'config', config({hostname: 'Miner-01'}), 'qcow2');
    expect(r.ok).toBe(true);
    expect(r.files['/etc/hostname']).toBe('Miner-01\n');
  });

  it('fails a hostname with an underscore, and a missing file', async () => {
    expect(own((await guestAccepts('E4', 'config', config({hostname: 'miner_01'}), 'qcow2')).lines)).toContain('ERROR: Invalid hostname: Hostname contains invalid characters');
    const r = await guestAccepts('E4', 'config', config({seed: undefined}), 'qcow2');
    expect(own(r.lines)).toContain("ERROR: Missing required config files: ['/var/config/miner-seed']");
  });

  it('fails a wrong filesystem (XFS labelled tdx-config) with its own lines', async () => {
    const xfs = plainVolume(tmp.path, 'config-xfs.qcow2', {fs: 'xfs', label: 'tdx-config'});
    const r = await guestAccepts('E4', 'config', xfs, 'qcow2');
    expect(r.steps).toEqual([{name: 'verify-config-volume.sh', code: 1}]);
    expect(r.lines).toContain('ERROR: Config device has wrong filesystem type: xfs (expected ext4)');
    expect(r.calls).toContain('shutdown -h now');
  });

  // As verify-cache-volume.sh of E1-E3: set -e ends the script at the failed blkid lookup (exit 2),
  // before "Config device with label 'tdx-config' not found" is printed.
  it('fails a wrong label and a missing volume at the lookup, silently', async () => {
    for (const r of [await guestAccepts('E4', 'config', config({}, {label: 'tdx-conf'}), 'qcow2'), await guestRun('E4', 'config', [])]) {
      expect(r.steps).toEqual([{name: 'verify-config-volume.sh', code: 2}]);
      expect(r.lines).toEqual(['=== Config Volume Verification Started ===', 'Expected label: tdx-config']);
    }
  });
});
