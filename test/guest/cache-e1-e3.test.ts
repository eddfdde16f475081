// E1-E3b guests: verify-cache-volume.sh (before var-snap.mount) finds the cache volume with
// `blkid -l -t LABEL=tdx-cache`, checks ext4 and the label, then var-snap.mount mounts it.
import {readFileSync} from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {attachReadOnly, guestAccepts, guestRun, upstreamFile} from '../helpers/guest.js';
import {plainVolume, wizardVolume} from '../helpers/guest-volumes.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let good: string;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-e1-');
  good = wizardVolume(tmp.path, 'cache.qcow2');
});
afterAll(() => tmp.remove());

const SCRIPT = 'ansible/k3s/roles/cache-volume/files/verify-cache-volume.sh';

describe('verify-cache-volume.sh and var-snap.mount, E1-E3b', () => {
  it('is the same file in E1, E2 and E3b, so the failure cases below run once (E2)', () => {
    const e2 = readFileSync(upstreamFile('E2', SCRIPT), 'utf8');
    expect(readFileSync(upstreamFile('E1', SCRIPT), 'utf8')).toBe(e2);
    expect(readFileSync(upstreamFile('E3b', SCRIPT), 'utf8')).toBe(e2);
  });

  it.each(['E1', 'E2', 'E3b'] as const)('%s accepts the cache volume the wizard makes', async (era) => {
    const r = await guestAccepts(era, 'cache', good, 'qcow2');
    expect(r.steps).toEqual([
      {name: 'verify-cache-volume.sh', code: 0},
      {name: 'var-snap.mount', code: 0},
    ]);
    expect(r.lines).toContain('Filesystem label verification: PASSED');
    expect(r.lines.find((l) => l.startsWith('Cache device found: '))).toMatch(/^Cache device found: \/dev\/loop\d+$/);
    expect(r.ok).toBe(true);
  });

  it('fails a wrong filesystem (XFS labelled tdx-cache) with its own lines, and shuts down', async () => {
    const xfs = plainVolume(tmp.path, 'xfs.qcow2', {fs: 'xfs', label: 'tdx-cache'});
    const r = await guestAccepts('E2', 'cache', xfs, 'qcow2');
    expect(r.ok).toBe(false);
    expect(r.lines).toContain('ERROR: Cache device has wrong filesystem type: xfs (expected ext4)');
    expect(r.calls).toContain('shutdown -h now');
  });

  // Upstream surprise: `DEVICE=$(blkid -l -o device -t LABEL=…)` under `set -e` exits the script
  // (blkid's code 2) before its "not found" lines; the guest learns it only from the failed unit
  // (OnFailure=poweroff.target). No "Cache device with label 'tdx-cache' not found", no shutdown call.
  const silentExit = (r: Awaited<ReturnType<typeof guestRun>>) => {
    expect(r.ok).toBe(false);
    expect(r.steps).toEqual([{name: 'verify-cache-volume.sh', code: 2}]);
    expect(r.lines).toEqual(['=== Cache Volume Verification Started ===', 'Expected label: tdx-cache']);
    expect(r.calls).not.toContain('shutdown -h now');
  };

  it('fails a wrong label (the wizard with --label tdx-cache-x): the script exits at the lookup', async () => {
    silentExit(await guestAccepts('E2', 'cache', wizardVolume(tmp.path, 'wrong.qcow2', ['--label', 'tdx-cache-x']), 'qcow2'));
  });

  it('fails a missing volume the same way, even while the host has another tdx-cache device', async () => {
    // A decoy on the host, outside the sandbox: blkid inside sees only the devices the sandbox was given.
    const decoy = await attachReadOnly(good, 'qcow2');
    try {
      silentExit(await guestRun('E2', 'cache', []));
    } finally {
      await decoy.detach();
    }
  });

  it('fails a raw file: the qcow2-only launcher (format=qcow2) gives QEMU a file that is not qcow2', async () => {
    const raw = plainVolume(tmp.path, 'cache.raw', {fs: 'ext4', label: 'tdx-cache', format: 'raw'});
    const r = await guestAccepts('E2', 'cache', raw, 'qcow2');
    expect(r.ok).toBe(false);
    expect(r.lines.join('\n')).toMatch(/Image is not in qcow2 format/);
  });
});
