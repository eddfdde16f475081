// E3b debug guest: containerd-cache-init.service (init-containerd-cache.sh: finds the volume by
// label, refuses LUKS, mounts it once itself) before var-lib-rancher-k3s-agent-containerd.mount.
// The wizard cannot make this role yet: the volumes are plain mkfs.ext4 / luksFormat.
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {guestAccepts, guestRun} from '../helpers/guest.js';
import {plainVolume} from '../helpers/guest-volumes.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-e3b-');
});
afterAll(() => tmp.remove());

describe('containerd volume, E3b', () => {
  it('accepts ext4 labelled containerd-cache (16 bytes, the ext4 maximum)', async () => {
    const v = plainVolume(tmp.path, 'containerd.qcow2', {fs: 'ext4', label: 'containerd-cache'});
    const r = await guestAccepts('E3b', 'containerd', v, 'qcow2');
    expect(r.steps).toEqual([{name: 'init-containerd-cache.sh', code: 0}, {name: 'var-lib-rancher-k3s-agent-containerd.mount.j2', code: 0}]);
    expect(r.lines).toContain('[containerd-cache-init] Containerd cache initialization complete');
    // Its own mount and umount went through the broker (it has no CAP_SYS_ADMIN here).
    expect(r.calls.some((c) => /^mount \/dev\/loop\d+ \/mnt\/containerd-init$/.test(c))).toBe(true);
  });

  it('fails a LUKS2 volume in debug mode with its own lines', async () => {
    const v = plainVolume(tmp.path, 'containerd-luks.qcow2', {fs: 'luks2', label: 'containerd-cache'});
    const r = await guestAccepts('E3b', 'containerd', v, 'qcow2');
    expect(r.steps).toEqual([{name: 'init-containerd-cache.sh', code: 1}]);
    expect(r.lines.some((l) => /^\[containerd-cache-init\] ERROR: Device \/dev\/loop\d+ is LUKS encrypted but debug mode is enabled$/.test(l))).toBe(true);
  });

  // set -e again: the failed `DEVICE=$(blkid …)` ends the script before its
  // "ERROR: Could not find device with label 'containerd-cache'" line.
  it('fails a wrong label and a missing volume at the lookup, silently', async () => {
    const v = plainVolume(tmp.path, 'containerd-wrong.qcow2', {fs: 'ext4', label: 'containerd'});
    for (const r of [await guestAccepts('E3b', 'containerd', v, 'qcow2'), await guestRun('E3b', 'containerd', [])]) {
      expect(r.steps).toEqual([{name: 'init-containerd-cache.sh', code: 2}]);
      expect(r.lines).toEqual([]);
    }
  });
});
