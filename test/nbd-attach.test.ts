// attachImage against fixture trees and the stand-in qemu-nbd: the decisions and the exact commands.
import {existsSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {runCleanups} from '../src/cleanup.js';
import {stateDir} from '../src/paths.js';
import {attachImage} from '../src/nbd/attach.js';
import {readRecords, statePath} from '../src/nbd/state.js';
import {makeImage, nbdTest, ran, type NbdTest} from './helpers/nbd-setup.js';
import {requireTools} from './helpers/tools.js';

let t: NbdTest;
beforeAll(() => requireTools('qemu-img'));
afterEach(async () => {
  await runCleanups();
  await t.done();
});

const connectLine = (t: NbdTest, dev: string, image: string) => `qemu-nbd --connect=${t.host.roots.dev}/${dev} --format=qcow2 --pid-file=${t.state}/${dev}.pid -- ${image}`;

describe('attach: picks a free device and waits until the kernel shows the connection', () => {
  it('connect returns before the device is ready: it waits for pid, cmdline and size', async () => {
    t = nbdTest({devices: 2}, {FAKE_NBD_READY_MS: '400'});
    const snapshot = join(t.host.root, 'state-at-connect.json');
    process.env.FAKE_NBD_SNAPSHOT = snapshot;
    const image = makeImage(t.host);
    const started = Date.now();
    const a = await attachImage(t.runner, image, {roots: t.host.roots});
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(a).toMatchObject({device: 'nbd0', path: `${t.host.roots.dev}/nbd0`, image});
    expect(a.pid).toBe(t.host.sysfsPid('nbd0'));
    expect(t.host.sysfsSize('nbd0')).toBe(2 ** 30);
    expect(t.host.log()).toEqual([connectLine(t, 'nbd0', image)]);
    expect(ran(t.runner)).toEqual([`qemu-img info -f qcow2 --output=json -- ${image}`, connectLine(t, 'nbd0', image)]);
    // The intent record was on disk before qemu-nbd ran.
    expect(JSON.parse(readFileSync(snapshot, 'utf8')).records).toEqual([expect.objectContaining({device: 'nbd0', image, phase: 'connecting', ownerPid: process.pid})]);
    expect(statSync(statePath()).mode & 0o777).toBe(0o600);
    expect(await readRecords()).toEqual([expect.objectContaining({device: 'nbd0', phase: 'attached', pid: a.pid})]);

    await a.detach();
    expect(t.host.log().slice(1)).toEqual([`blockdev --flushbufs ${t.host.roots.dev}/nbd0`, `qemu-nbd --disconnect ${t.host.roots.dev}/nbd0`]);
    expect(t.host.sysfsPid('nbd0')).toBeUndefined();
    expect(t.host.alive(a.pid)).toBe(false);
    expect(await readRecords()).toEqual([]);
  });

  it('skips connected, stale, stuck, held and mounted devices without trying them', async () => {
    t = nbdTest({devices: [{state: 'connected'}, {state: 'stale'}, {state: 'stuck'}, {state: 'held'}, {state: 'mounted'}, {state: 'free'}]});
    const image = makeImage(t.host);
    const a = await attachImage(t.runner, image, {roots: t.host.roots});
    expect(a.device).toBe('nbd5');
    expect(t.host.log()).toEqual([connectLine(t, 'nbd5', image)]);
  });

  it('"Failed to set NBD socket" (busy): moves to the next device', async () => {
    t = nbdTest({devices: 3}, {FAKE_NBD_BUSY: 'nbd0'});
    const image = makeImage(t.host);
    const a = await attachImage(t.runner, image, {roots: t.host.roots});
    expect(a.device).toBe('nbd1');
    expect(t.host.log()).toEqual([connectLine(t, 'nbd0', image), connectLine(t, 'nbd1', image)]);
    expect((await readRecords()).map((r) => r.device)).toEqual(['nbd1']);
  });

  it('race: another process connects the chosen device first; it is left alone', async () => {
    t = nbdTest({devices: 2}, {FAKE_NBD_RACE: 'nbd0'});
    const image = makeImage(t.host);
    const a = await attachImage(t.runner, image, {roots: t.host.roots});
    expect(a.device).toBe('nbd1');
    const other = t.host.sysfsPid('nbd0')!;
    expect(t.host.alive(other)).toBe(true);
    expect(t.host.log().some((l) => l.includes('--disconnect'))).toBe(false);
  });

  it('no free device: says what each one is, runs nothing', async () => {
    t = nbdTest({devices: [{state: 'connected'}, {state: 'stale'}]});
    const image = makeImage(t.host);
    await expect(attachImage(t.runner, image, {roots: t.host.roots})).rejects.toMatchObject({exitCode: 1, message: 'no free NBD device: nbd0 connected, nbd1 stale', fix: expect.stringContaining('tdx-wizard nbd list')});
    expect(t.host.log()).toEqual([]);
  });

  it('the module is not loaded: says how to load it', async () => {
    t = nbdTest({module: 'missing'});
    const image = makeImage(t.host);
    await expect(attachImage(t.runner, image, {roots: t.host.roots})).rejects.toMatchObject({fix: expect.stringContaining('tdx-wizard nbd load')});
    expect(t.host.log()).toEqual([]);
  });

  it('bad input (missing file, symlink): exit 2, nothing runs', async () => {
    t = nbdTest();
    await expect(attachImage(t.runner, join(t.host.root, 'nope.qcow2'), {roots: t.host.roots})).rejects.toMatchObject({exitCode: 2, message: expect.stringContaining('does not exist')});
    expect(ran(t.runner)).toEqual([]);
  });
});

describe('attach failures after connect: always disconnected again, gracefully', () => {
  const expectUndone = async (t: NbdTest, image: string) => {
    await t.host.settle();
    expect(t.host.log()).toEqual([connectLine(t, 'nbd0', image), `blockdev --flushbufs ${t.host.roots.dev}/nbd0`, `qemu-nbd --disconnect ${t.host.roots.dev}/nbd0`]);
    expect(t.host.sysfsPid('nbd0')).toBeUndefined();
    expect(await readRecords()).toEqual([]);
  };

  it('never becomes ready: a clear timeout message, then detached', async () => {
    t = nbdTest({devices: 2}, {FAKE_NBD_NEVER_READY: '1'});
    const image = makeImage(t.host);
    await expect(attachImage(t.runner, image, {roots: t.host.roots, readyTimeoutMs: 600})).rejects.toMatchObject({
      message: '/dev/nbd0 did not become ready within 0.6 s after qemu-nbd --connect returned: no pid file in sysfs yet',
      fix: expect.stringContaining('dmesg | grep nbd0'),
    });
    const daemon = Number(readFileSync(join(t.state, 'nbd0.pid'), 'utf8'));
    await expectUndone(t, image);
    expect(t.host.alive(daemon)).toBe(false);
  });

  it('the size never matches the image: says both numbers', async () => {
    t = nbdTest({devices: 1}, {FAKE_NBD_SECTORS: '1'});
    const image = makeImage(t.host);
    await expect(attachImage(t.runner, image, {roots: t.host.roots, readyTimeoutMs: 800})).rejects.toThrow(/serves our image but the size is 512 bytes, expected 1073741824/);
    await expectUndone(t, image);
  });

  it('qemu-nbd killed right after connecting (sysfs names a dead pid): fails at once', async () => {
    t = nbdTest({devices: 1}, {FAKE_NBD_DIES: '1', FAKE_NBD_READY_MS: '100'});
    const image = makeImage(t.host);
    const started = Date.now();
    await expect(attachImage(t.runner, image, {roots: t.host.roots})).rejects.toThrow(/qemu-nbd \(pid \d+\) exited right after connecting \/dev\/nbd0/);
    expect(Date.now() - started).toBeLessThan(5000);
    await expectUndone(t, image);
  });

  it('cancelled while qemu-nbd --connect still runs, its daemon already started: Cancelled, and detached', async () => {
    t = nbdTest({devices: 1}, {FAKE_NBD_NEVER_READY: '1', FAKE_NBD_CONNECT_SLOW: '1'});
    const image = makeImage(t.host);
    const controller = new AbortController();
    const pidFile = join(stateDir(), 'nbd0.pid');
    const started = setInterval(() => {
      if (existsSync(pidFile) && t.runner.runningCount > 0) {
        clearInterval(started);
        controller.abort();
      }
    }, 20);
    await expect(attachImage(t.runner, image, {roots: t.host.roots, signal: controller.signal})).rejects.toMatchObject({exitCode: 130});
    clearInterval(started);
    await expectUndone(t, image);
  });

  it('cancelled while waiting: Cancelled (exit 130), and detached', async () => {
    t = nbdTest({devices: 1}, {FAKE_NBD_NEVER_READY: '1'});
    const image = makeImage(t.host);
    const controller = new AbortController();
    // While waiting for the device, not while qemu-nbd --connect still runs (a busy machine can take
    // longer than a fixed delay over it): once its pid file is there and it has exited.
    const pidFile = join(stateDir(), 'nbd0.pid');
    const ready = setInterval(() => {
      if (existsSync(pidFile) && t.runner.runningCount === 0) {
        clearInterval(ready);
        controller.abort();
      }
    }, 20);
    await expect(attachImage(t.runner, image, {roots: t.host.roots, signal: controller.signal})).rejects.toMatchObject({exitCode: 130});
    clearInterval(ready);
    await expectUndone(t, image);
  });
});

describe('attach: one device per attachment, and dry run', () => {
  it('two attachments at once get two devices', async () => {
    t = nbdTest({devices: 3});
    const [a, b] = await Promise.all([attachImage(t.runner, makeImage(t.host, 'a.qcow2'), {roots: t.host.roots}), attachImage(t.runner, makeImage(t.host, 'b.qcow2'), {roots: t.host.roots})]);
    expect([a.device, b.device].sort()).toEqual(['nbd0', 'nbd1']);
    await Promise.all([a.detach(), b.detach()]);
    expect(await readRecords()).toEqual([]);
  });

  it('the cleanup registry detaches what is still attached when the program ends', async () => {
    t = nbdTest({devices: 1});
    const a = await attachImage(t.runner, makeImage(t.host), {roots: t.host.roots});
    await runCleanups();
    expect(t.host.alive(a.pid)).toBe(false);
    expect(t.host.log().at(-1)).toBe(`qemu-nbd --disconnect ${t.host.roots.dev}/nbd0`);
  });

  it('keep(): stays attached after the program ends, marked as kept', async () => {
    t = nbdTest({devices: 1});
    const a = await attachImage(t.runner, makeImage(t.host), {roots: t.host.roots});
    await a.keep();
    await runCleanups();
    expect(t.host.alive(a.pid)).toBe(true);
    expect(await readRecords()).toEqual([expect.objectContaining({device: 'nbd0', kept: true})]);
  });

  it('dry run: plans the commands, runs none, writes no state', async () => {
    t = nbdTest({devices: 2}, {}, {dryRun: true});
    const image = makeImage(t.host);
    const a = await attachImage(t.runner, image, {roots: t.host.roots});
    expect(a.device).toBe('nbd0');
    // The plan is made before the image exists (create --dry-run): the lock probe runs at run time.
    expect(ran(t.runner)).toEqual([connectLine(t, 'nbd0', image)]);
    await a.detach();
    expect(ran(t.runner).slice(1)).toEqual([`blockdev --flushbufs ${t.host.roots.dev}/nbd0`, `qemu-nbd --disconnect ${t.host.roots.dev}/nbd0`]);
    expect(t.host.log()).toEqual([]);
    expect(await readRecords()).toEqual([]);
  });
});
