// detachDevice against fixture trees and the stand-in qemu-nbd: refusals, the flush, and the check
// that the device is really free afterwards (qemu-nbd --disconnect's exit code proves nothing).
import {afterEach, describe, expect, it} from 'vitest';
import {detachDevice} from '../src/nbd/detach.js';
import {putRecord, readRecords} from '../src/nbd/state.js';
import {nbdTest, ran, type NbdTest} from './helpers/nbd-setup.js';

let t: NbdTest;
afterEach(async () => t.done());

const flush = (t: NbdTest, dev = 'nbd0') => `blockdev --flushbufs ${t.host.roots.dev}/${dev}`;
const disc = (t: NbdTest, dev = 'nbd0') => `qemu-nbd --disconnect ${t.host.roots.dev}/${dev}`;

describe('detach', () => {
  it('connected: flush, disconnect, then wait until sysfs is clear and qemu-nbd has exited', async () => {
    t = nbdTest({devices: [{state: 'connected'}]});
    const pid = t.host.sysfsPid('nbd0')!;
    const r = await detachDevice(t.runner, '/dev/nbd0', {roots: t.host.roots});
    expect(r).toMatchObject({device: 'nbd0', alreadyFree: false, serverPid: pid});
    expect(t.host.log()).toEqual([flush(t), disc(t)]);
    expect(t.host.sysfsPid('nbd0')).toBeUndefined();
    expect(t.host.sysfsSize('nbd0')).toBe(0);
    expect(t.host.alive(pid)).toBe(false);
  });

  it('waits for the qemu-nbd process itself, which exits after sysfs is already clear', async () => {
    t = nbdTest({devices: [{state: 'connected'}]}, {FAKE_NBD_EXIT_MS: '50', FAKE_NBD_LINGER_MS: '500'});
    const pid = t.host.sysfsPid('nbd0')!;
    const started = Date.now();
    await detachDevice(t.runner, 'nbd0', {roots: t.host.roots});
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(t.host.alive(pid)).toBe(false);
  });

  it('qemu-nbd lingers past the timeout: says so, and never kills it', async () => {
    t = nbdTest({devices: [{state: 'connected'}]}, {FAKE_NBD_EXIT_MS: '50', FAKE_NBD_LINGER_MS: '1500'});
    const pid = t.host.sysfsPid('nbd0')!;
    await expect(detachDevice(t.runner, 'nbd0', {roots: t.host.roots, timeoutMs: 500})).rejects.toMatchObject({
      message: `/dev/nbd0 is free but qemu-nbd (pid ${pid}) has not exited after 0.5 s; it may still be writing the image`,
      fix: expect.stringContaining('do not kill -9'),
    });
    expect(t.host.alive(pid)).toBe(true);
  });

  it('"disconnected" and exit 0, but the device stays connected: an error, not success', async () => {
    t = nbdTest({devices: [{state: 'connected'}]}, {FAKE_NBD_DISCONNECT: 'ignore'});
    const pid = t.host.sysfsPid('nbd0')!;
    await expect(detachDevice(t.runner, '/dev/nbd0', {roots: t.host.roots, timeoutMs: 500})).rejects.toMatchObject({
      exitCode: 1,
      message: `qemu-nbd --disconnect exited 0 saying "${t.host.roots.dev}/nbd0 disconnected", but after 0.5 s /dev/nbd0 is still connected (pid ${pid}, size 1073741824 bytes)`,
      fix: expect.stringContaining('Never kill -9 qemu-nbd'),
    });
    expect(t.host.log()).toEqual([flush(t), disc(t)]);
    expect(t.host.alive(pid)).toBe(true);
  });

  it('mounted: refuses, names the mount point, runs nothing', async () => {
    t = nbdTest({devices: [{state: 'mounted', mountpoint: '/mnt/cache'}]});
    await expect(detachDevice(t.runner, '/dev/nbd0', {roots: t.host.roots})).rejects.toMatchObject({
      message: expect.stringContaining('/dev/nbd0 is mounted on /mnt/cache'),
      fix: 'umount /mnt/cache',
    });
    expect(ran(t.runner)).toEqual([]);
  });

  it('held by a device-mapper mapping: refuses and says by what', async () => {
    t = nbdTest({devices: [{state: 'held', holder: 'dm-2'}]});
    await expect(detachDevice(t.runner, '/dev/nbd0', {roots: t.host.roots})).rejects.toMatchObject({
      message: expect.stringContaining('it is held by dm-2'),
      fix: expect.stringContaining('cryptsetup close'),
    });
    expect(ran(t.runner)).toEqual([]);
  });

  it('already free: nothing to do, nothing run, the stale record forgotten', async () => {
    t = nbdTest({devices: 1});
    await putRecord({device: 'nbd0', image: '/v/a.qcow2', format: 'qcow2', pidFile: '/x', ownerPid: 1, phase: 'attached', since: ''});
    expect(await detachDevice(t.runner, 'nbd0', {roots: t.host.roots})).toMatchObject({alreadyFree: true});
    expect(ran(t.runner)).toEqual([]);
    expect(await readRecords()).toEqual([]);
  });

  it('stale (server dead): the flush fails, the disconnect still clears the device', async () => {
    t = nbdTest({devices: [{state: 'stale'}]}, {FAKE_BLOCKDEV_FAIL: '1'});
    const r = await detachDevice(t.runner, 'nbd0', {roots: t.host.roots});
    expect(r.notes).toEqual([expect.stringContaining('flush failed (its server is gone)')]);
    expect(t.host.log()).toEqual([flush(t), disc(t)]);
    expect(t.host.sysfsPid('nbd0')).toBeUndefined();
  });

  it('connected and the flush fails: does not disconnect (cached writes would be dropped)', async () => {
    t = nbdTest({devices: [{state: 'connected'}]}, {FAKE_BLOCKDEV_FAIL: '1'});
    await expect(detachDevice(t.runner, 'nbd0', {roots: t.host.roots})).rejects.toThrow(/could not flush \/dev\/nbd0.*not disconnecting/);
    expect(t.host.log()).toEqual([flush(t)]);
  });

  it('bad input: not an NBD device is exit 2; a missing nbdN is a failure', async () => {
    t = nbdTest({devices: 1});
    await expect(detachDevice(t.runner, '/dev/sda', {roots: t.host.roots})).rejects.toMatchObject({exitCode: 2, fix: expect.stringContaining('/dev/nbdN')});
    await expect(detachDevice(t.runner, '/dev/nbd9', {roots: t.host.roots})).rejects.toMatchObject({exitCode: 1, message: expect.stringContaining('/dev/nbd9 does not exist')});
    expect(ran(t.runner)).toEqual([]);
  });
});
