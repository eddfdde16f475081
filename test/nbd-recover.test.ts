// recoverStale: the state file reconciled with the kernel's view; the kernel always wins.
import {afterEach, describe, expect, it} from 'vitest';
import {recoverStale, type RecoverItem} from '../src/nbd/recover.js';
import {putRecord, readRecords, type NbdRecord} from '../src/nbd/state.js';
import {nbdTest, ran, type NbdTest} from './helpers/nbd-setup.js';

let t: NbdTest;
afterEach(async () => t.done());

const DEAD_OWNER = 999_999;
const record = (device: string, image: string, extra: Partial<NbdRecord> = {}): NbdRecord => ({device, image, format: 'qcow2', pidFile: `/state/${device}.pid`, ownerPid: DEAD_OWNER, phase: 'attached', since: '2026-01-01T00:00:00Z', ...extra});

describe('recover after a crash', () => {
  it('left attached by a dead run: offered, and detached gracefully when accepted', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/cache.qcow2'}]});
    await putRecord(record('nbd0', '/v/cache.qcow2'));
    const offered: RecoverItem[] = [];
    const items = await recoverStale(t.runner, t.host.roots, {decide: async (i) => (offered.push(i), true)});
    expect(offered).toEqual([expect.objectContaining({device: 'nbd0', finding: 'attached', detail: expect.stringContaining(`pid ${DEAD_OWNER}) ended without detaching`)})]);
    expect(items).toEqual([expect.objectContaining({device: 'nbd0', finding: 'attached', action: 'detached', recorded: true})]);
    expect(t.host.log()).toEqual([`blockdev --flushbufs ${t.host.roots.dev}/nbd0`, `qemu-nbd --disconnect ${t.host.roots.dev}/nbd0`]);
    expect(await readRecords()).toEqual([]);
  });

  it('declined: left attached, record kept, the fix printed', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/cache.qcow2'}]});
    await putRecord(record('nbd0', '/v/cache.qcow2', {kept: true}));
    const items = await recoverStale(t.runner, t.host.roots, {decide: async () => false});
    expect(items).toEqual([expect.objectContaining({finding: 'kept', action: 'left', fix: 'tdx-wizard nbd detach /dev/nbd0'})]);
    expect(ran(t.runner)).toEqual([]);
    expect(await readRecords()).toHaveLength(1);
  });

  it('no decision given: nothing is detached', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/cache.qcow2'}]});
    await putRecord(record('nbd0', '/v/cache.qcow2'));
    expect(await recoverStale(t.runner, t.host.roots)).toEqual([expect.objectContaining({action: 'left'})]);
    expect(ran(t.runner)).toEqual([]);
  });

  it('the kernel shows the device free: the record is forgotten', async () => {
    t = nbdTest({devices: 1});
    await putRecord(record('nbd0', '/v/cache.qcow2', {phase: 'connecting'}));
    expect(await recoverStale(t.runner, t.host.roots, {decide: async () => true})).toEqual([expect.objectContaining({finding: 'gone', action: 'forgotten', fix: 'check the image: qemu-img check -f qcow2 /v/cache.qcow2'})]);
    expect(await readRecords()).toEqual([]);
    expect(ran(t.runner)).toEqual([]);
  });

  it('the device now serves another image: not ours, never touched', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/someone-else.qcow2'}]});
    await putRecord(record('nbd0', '/v/cache.qcow2'));
    const decide = async () => true;
    expect(await recoverStale(t.runner, t.host.roots, {decide})).toEqual([expect.objectContaining({finding: 'foreign', action: 'forgotten', detail: expect.stringContaining('/v/someone-else.qcow2')})]);
    expect(ran(t.runner)).toEqual([]);
    expect(t.host.alive(t.host.sysfsPid('nbd0')!)).toBe(true);
  });

  it('the wizard that owns it is still running: left to it', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/cache.qcow2'}]});
    const owner = t.host.addProcess(['node', 'tdx-wizard']);
    await putRecord(record('nbd0', '/v/cache.qcow2', {ownerPid: owner}));
    expect(await recoverStale(t.runner, t.host.roots, {decide: async () => true})).toEqual([expect.objectContaining({finding: 'owner-running', action: 'left'})]);
    expect(ran(t.runner)).toEqual([]);
  });

  it('stale (qemu-nbd killed while mounted): reported with what holds it, never touched', async () => {
    t = nbdTest({devices: [{state: 'stale', image: '/v/cache.qcow2'}]});
    t.host.mount('/dev/nbd0', '43:0', '/mnt/cache');
    await putRecord(record('nbd0', '/v/cache.qcow2'));
    const items = await recoverStale(t.runner, t.host.roots, {decide: async () => true});
    expect(items).toEqual([expect.objectContaining({finding: 'stale', action: 'left', fix: 'umount /mnt/cache, then tdx-wizard nbd detach /dev/nbd0'})]);
    expect(ran(t.runner)).toEqual([]);
  });

  it('a stuck device nobody recorded: shown, not touched', async () => {
    t = nbdTest({devices: [{state: 'free'}, {state: 'stuck'}]});
    expect(await recoverStale(t.runner, t.host.roots, {decide: async () => true})).toEqual([expect.objectContaining({device: 'nbd1', finding: 'stuck', recorded: false, action: 'left'})]);
    expect(ran(t.runner)).toEqual([]);
  });

  it('a detach that fails (still mounted) is reported per device, not thrown', async () => {
    t = nbdTest({devices: [{state: 'mounted', image: '/v/cache.qcow2'}]});
    await putRecord(record('nbd0', '/v/cache.qcow2'));
    const [item] = await recoverStale(t.runner, t.host.roots, {decide: async () => true});
    expect(item).toMatchObject({action: 'left', error: expect.stringContaining('mounted on /mnt/cache'), fix: 'umount /mnt/cache'});
  });
});
