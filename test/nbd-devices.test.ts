// nbd list: every device state read from fixture sysfs/procfs trees.
import {afterEach, describe, expect, it} from 'vitest';
import {deviceName, listDevices, readDevice} from '../src/nbd/devices.js';
import {servedImage} from '../src/nbd/proc.js';
import {FakeHost} from './helpers/fake-host.js';

let host: FakeHost;
afterEach(async () => host?.remove());

describe('listDevices: one state per fixture', () => {
  it('free: no pid, size 0, no holders, not mounted', async () => {
    host = new FakeHost({devices: 2});
    const devices = await listDevices(host.roots);
    expect(devices.map((d) => [d.name, d.state])).toEqual([['nbd0', 'free'], ['nbd1', 'free']]);
    expect(devices[0]).toMatchObject({path: `${host.roots.dev}/nbd0`, sizeBytes: 0, holders: [], mounts: [], pid: undefined, serverAlive: false});
  });

  it('connected: the pid is alive, and its cmdline names the image', async () => {
    host = new FakeHost({devices: [{state: 'connected', image: '/srv/v/cache.qcow2', sizeBytes: 5 * 2 ** 30}]});
    const [dev] = await listDevices(host.roots);
    expect(dev).toMatchObject({state: 'connected', serverAlive: true, server: 'qemu-nbd', image: '/srv/v/cache.qcow2', sizeBytes: 5 * 2 ** 30});
    expect(dev!.pid).toBe(host.sysfsPid('nbd0'));
  });

  it('stale: the pid file names a dead process', async () => {
    host = new FakeHost({devices: [{state: 'stale'}]});
    const [dev] = await listDevices(host.roots);
    expect(dev).toMatchObject({state: 'stale', serverAlive: false, image: undefined});
    expect(dev!.reason).toMatch(/server \(pid \d+\) is gone/);
  });

  it('stale and mounted: the reason says what still holds it', async () => {
    host = new FakeHost({devices: [{state: 'stale'}]});
    host.mount('/dev/nbd0', '43:0', '/mnt/old cache');
    const [dev] = await listDevices(host.roots);
    expect(dev!.state).toBe('stale');
    expect(dev!.mounts).toEqual([{source: '/dev/nbd0', target: '/mnt/old cache'}]);
    expect(dev!.reason).toContain('/dev/nbd0 mounted on /mnt/old cache');
  });

  it('stuck: a size without a pid (a leftover opener keeps it configured)', async () => {
    host = new FakeHost({devices: [{state: 'stuck', sizeBytes: 2 ** 20}]});
    const [dev] = await listDevices(host.roots);
    expect(dev).toMatchObject({state: 'stuck', sizeBytes: 2 ** 20});
    expect(dev!.reason).toContain('size 1048576 bytes without a server');
  });

  it('stuck: holders (a device-mapper mapping on top)', async () => {
    host = new FakeHost({devices: [{state: 'held', holder: 'dm-3'}]});
    const [dev] = await listDevices(host.roots);
    expect(dev).toMatchObject({state: 'stuck', holders: ['dm-3']});
  });

  it('connected and mounted, with partitions: mounts found by source and by major:minor', async () => {
    host = new FakeHost({devices: [{state: 'free'}, {state: 'mounted', partitions: 2, mountpoint: '/mnt/a'}]});
    host.mount('/dev/disk/by-label/x', '43:18', '/mnt/b'); // nbd1p2 under another name
    const dev = (await readDevice(host.roots, 'nbd1'))!;
    expect(dev.state).toBe('connected');
    expect(dev.partitions).toEqual(['nbd1p1', 'nbd1p2']);
    expect(dev.mounts.map((m) => m.target)).toEqual(['/mnt/a', '/mnt/b']);
  });

  it('devices sort by number, and a missing module means no devices', async () => {
    host = new FakeHost({devices: 12});
    expect((await listDevices(host.roots)).map((d) => d.name).slice(8)).toEqual(['nbd8', 'nbd9', 'nbd10', 'nbd11']);
    await host.remove();
    host = new FakeHost({module: 'missing'});
    expect(await listDevices(host.roots)).toEqual([]);
    expect(await readDevice(host.roots, 'nbd0')).toBeUndefined();
  });
});

describe('device names and qemu-nbd command lines', () => {
  it('accepts /dev/nbdN and nbdN; anything else is bad input (exit 2) with a fix', () => {
    expect(deviceName('/dev/nbd7')).toBe('nbd7');
    expect(deviceName('nbd0')).toBe('nbd0');
    expect(() => deviceName('/dev/sda')).toThrow(expect.objectContaining({exitCode: 2, message: '/dev/sda is not an NBD device', fix: expect.stringContaining('tdx-wizard nbd list')}));
    expect(() => deviceName('/dev/nbd0p1')).toThrow(expect.objectContaining({exitCode: 2, fix: 'give the whole device: /dev/nbd0'}));
  });

  it('finds the served image in the argv forms qemu-nbd accepts', () => {
    expect(servedImage(['qemu-nbd', '--connect=/dev/nbd0', '--format=qcow2', '--pid-file=/s/p', '--', '/v/a.qcow2'])).toBe('/v/a.qcow2');
    expect(servedImage(['qemu-nbd', '-c', '/dev/nbd0', '-f', 'qcow2', '/v/b.qcow2'])).toBe('/v/b.qcow2');
    expect(servedImage(['/usr/bin/qemu-nbd', '-k', '/run/s.sock', '--persistent', '-x', 'name', '/v/c.raw'])).toBe('/v/c.raw');
  });
});
