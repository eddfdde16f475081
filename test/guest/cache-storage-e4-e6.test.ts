// E4-E6 debug guests: the mount units (var-snap.mount, cache-storage.mount: What= by label,
// Type= ext4 in E4/E5, xfs in E5x, auto in E6) mount first; then, where this copy has them,
// verify-cache-volume.sh / verify-storage.sh check the mount (DEBUG_MODE=true).
import {copyFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {attachReadOnly, guestAccepts, runGuestSteps, upstreamFile} from '../helpers/guest.js';
import {plainVolume, wizardVolume} from '../helpers/guest-volumes.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let cache: string;
let storage: string;
let xfsCache: string;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-e4-');
  cache = wizardVolume(tmp.path, 'cache.qcow2');
  storage = plainVolume(tmp.path, 'storage.qcow2', {fs: 'ext4', label: 'storage'});
  xfsCache = plainVolume(tmp.path, 'xfs-cache.qcow2', {fs: 'xfs', label: 'tdx-cache'});
});
afterAll(() => tmp.remove());

const mountFailed = /^mount: \/var\/snap: wrong fs type, bad option, bad superblock on \/dev\/loop\d+/;
const noDevice = (label: string) => `[harness] /dev/disk/by-label/${label} does not exist: systemd would time out waiting for the device`;

describe('E4 (document era) and E5 (raw), debug image', () => {
  it('E4 accepts the cache volume the wizard makes', async () => {
    const r = await guestAccepts('E4', 'cache', cache, 'qcow2');
    expect(r.steps).toEqual([{name: 'var-snap.mount.j2', code: 0}, {name: 'verify-cache-volume.sh', code: 0}]);
    expect(r.lines.at(-2)).toMatch(/^\[verify-cache-volume\] Debug mode verification passed: using unencrypted device \/dev\/loop\d+ \(label: tdx-cache\)$/);
    expect(r.lines.at(-1)).toBe('[verify-cache-volume] Cache volume verification complete');
  });

  it('E4 accepts an ext4 storage volume labelled storage', async () => {
    const r = await guestAccepts('E4', 'storage', storage, 'qcow2');
    expect(r.ok).toBe(true);
    expect(r.lines).toContain('[verify-storage] Storage verification complete');
  });

  it('E5 accepts raw ext4 volumes named .raw (the launcher passes them as raw)', async () => {
    const c = plainVolume(tmp.path, 'cache-e5.raw', {fs: 'ext4', label: 'tdx-cache', format: 'raw'});
    const s = plainVolume(tmp.path, 'storage-e5.raw', {fs: 'ext4', label: 'storage', format: 'raw'});
    expect((await guestAccepts('E5', 'cache', c)).ok).toBe(true);
    expect((await guestAccepts('E5', 'storage', s)).ok).toBe(true);
  });

  it('E5 fails a qcow2 named .raw: the guest sees the qcow2 header, no label', async () => {
    const misnamed = join(tmp.path, 'cache-misnamed.raw');
    copyFileSync(cache, misnamed);
    const r = await guestAccepts('E5', 'cache', misnamed);
    expect(r.ok).toBe(false);
    expect(r.lines).toEqual([noDevice('tdx-cache')]);
  });

  it('E4 fails a wrong filesystem (XFS): var-snap.mount (Type=ext4) fails', async () => {
    const r = await guestAccepts('E4', 'cache', xfsCache, 'qcow2');
    expect(r.steps).toEqual([{name: 'var-snap.mount.j2', code: 32}]);
    expect(r.lines[0]).toMatch(mountFailed);
  });

  it('E4 fails a wrong label (the wizard with --label tdx-cache-x) and a missing storage volume: no by-label device', async () => {
    const wrong = wizardVolume(tmp.path, 'wrong.qcow2', ['--label', 'tdx-cache-x']);
    expect((await guestAccepts('E4', 'cache', wrong, 'qcow2')).lines).toEqual([noDevice('tdx-cache')]);
    // The cache volume attached, the storage volume not.
    const r = await guestAccepts('E4', 'storage', cache, 'qcow2');
    expect(r.ok).toBe(false);
    expect(r.lines).toEqual([noDevice('storage')]);
  });

  it('E4 debug fails a LUKS2 storage volume (what a production guest left): ext4 mount of a LUKS header', async () => {
    const luks = plainVolume(tmp.path, 'storage-luks.qcow2', {fs: 'luks2', label: 'storage'});
    const r = await guestAccepts('E4', 'storage', luks, 'qcow2');
    expect(r.steps).toEqual([{name: 'cache-storage.mount.j2', code: 32}]);
  });

  // verify-storage.sh's own label line cannot show through the unit (it mounts by label); here the
  // volume is mounted by device name by a harness unit, so the script's own check is what fails.
  it("verify-storage.sh's own check: a storage mount whose label is not 'storage'", async () => {
    const dev = await attachReadOnly(cache, 'qcow2');
    try {
      const unit = join(tmp.path, 'by-device.mount');
      writeFileSync(unit, `[Mount]\nWhat=${dev.device}\nWhere=/cache/storage\nType=ext4\nOptions=defaults\n`);
      const r = await runGuestSteps(
        [{kind: 'mount', unit, debug: true}, {kind: 'script', path: upstreamFile('E4', 'ansible/k3s/roles/cache-volume/files/verify-storage.sh'), env: {DEBUG_MODE: 'true'}}],
        {devices: [dev.device]},
      );
      expect(r.ok).toBe(false);
      expect(r.lines).toContain("[verify-storage] ERROR: Storage volume device has wrong label: 'tdx-cache' (expected 'storage')");
    } finally {
      await dev.detach();
    }
  });
});

describe('E5x (XFS only) and E6 (newest): mount units only', () => {
  it('E5x mounts XFS and fails ext4 (Type=xfs)', async () => {
    expect((await guestAccepts('E5x', 'cache', xfsCache, 'qcow2')).ok).toBe(true);
    const r = await guestAccepts('E5x', 'cache', cache, 'qcow2');
    expect(r.ok).toBe(false);
    expect(r.lines[0]).toMatch(mountFailed);
  });

  it('E6 mounts ext4 (the wizard) and XFS (Type=auto), not LUKS2', async () => {
    expect((await guestAccepts('E6', 'cache', cache, 'qcow2')).ok).toBe(true);
    const s = plainVolume(tmp.path, 'storage-e6.raw', {fs: 'xfs', label: 'storage', format: 'raw'});
    expect((await guestAccepts('E6', 'storage', s)).ok).toBe(true);
    const luks = plainVolume(tmp.path, 'cache-luks.raw', {fs: 'luks2', label: 'tdx-cache', format: 'raw'});
    const r = await guestAccepts('E6', 'cache', luks);
    expect(r.ok).toBe(false);
    expect(r.lines.join('\n')).toMatch(/unknown filesystem type 'crypto_LUKS'/);
  });
});
