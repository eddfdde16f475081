// The state file (0600, atomic) and the lock that keeps two wizards off the same device.
import {execFileSync} from 'node:child_process';
import {chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {dirname} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {attachImage} from '../src/nbd/attach.js';
import {dropRecord, lockPath, putRecord, readRecords, statePath, updateRecord, withNbdLock} from '../src/nbd/state.js';
import {makeImage, nbdTest, type NbdTest} from './helpers/nbd-setup.js';

let t: NbdTest;
afterEach(async () => t.done());

const rec = (device: string) => ({device, image: `/v/${device}.qcow2`, format: 'qcow2', pidFile: '/p', ownerPid: process.pid, phase: 'connecting' as const, since: ''});

describe('state file', () => {
  it('is 0600 in a 0700 directory, written atomically, and a torn file reads as empty', async () => {
    t = nbdTest();
    await putRecord(rec('nbd0'));
    await putRecord(rec('nbd1'));
    await updateRecord('nbd1', {phase: 'attached', pid: 42});
    await dropRecord('nbd0');
    expect(await readRecords()).toEqual([{...rec('nbd1'), phase: 'attached', pid: 42}]);
    expect(statSync(statePath()).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(statePath())).mode & 0o777).toBe(0o700);
    expect(readdirSync(dirname(statePath())).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    writeFileSync(statePath(), '{"records": [');
    expect(await readRecords()).toEqual([]);
  });
});

describe('the NBD lock', () => {
  it('held by another live wizard: attach refuses after waiting, and says who holds it', async () => {
    t = nbdTest({devices: 2});
    const other = t.host.addProcess(['node', '/usr/bin/tdx-wizard']);
    t.host.write(lockPath(t.host.roots).slice(t.host.root.length + 1), JSON.stringify({pid: other, what: 'attach /v/x.qcow2', since: '2026-01-01T10:00:00Z'}));
    await expect(attachImage(t.runner, makeImage(t.host), {roots: t.host.roots, lockWaitMs: 300})).rejects.toMatchObject({
      message: `another tdx-wizard (pid ${other}) is using NBD devices since 2026-01-01T10:00:00Z (attach /v/x.qcow2); two wizards must not pick devices at the same time`,
      fix: expect.stringContaining(`kill -TERM ${other}`),
    });
    expect(t.host.log()).toEqual([]);
  });

  it('held by a wizard that died: taken over', async () => {
    t = nbdTest({devices: 1});
    t.host.write(lockPath(t.host.roots).slice(t.host.root.length + 1), JSON.stringify({pid: 999_999, what: 'attach', since: ''}));
    const a = await attachImage(t.runner, makeImage(t.host), {roots: t.host.roots, lockWaitMs: 0});
    expect(a.device).toBe('nbd0');
    expect(existsSync(lockPath(t.host.roots))).toBe(false);
    await a.detach();
  });

  it('while held, another wizard waits; it gets the lock once released', async () => {
    t = nbdTest();
    const order: string[] = [];
    let seenInside = '';
    const first = withNbdLock(t.host.roots, 'first', async () => {
      seenInside = readFileSync(lockPath(t.host.roots), 'utf8');
      await new Promise((r) => setTimeout(r, 200));
      order.push('first');
    });
    const second = withNbdLock(t.host.roots, 'second', async () => void order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(JSON.parse(seenInside)).toMatchObject({pid: process.pid, what: 'first'});
    expect(existsSync(lockPath(t.host.roots))).toBe(false);
  });

  it('a failure inside releases the lock', async () => {
    t = nbdTest();
    await expect(withNbdLock(t.host.roots, 'x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(lockPath(t.host.roots))).toBe(false);
    await withNbdLock(t.host.roots, 'y', async () => undefined);
  });

  describe('a lock another local user put there (/run/lock is world-writable)', () => {
    const lockRel = () => lockPath(t.host.roots).slice(t.host.root.length + 1);
    it('a symlink to a FIFO: refused at once, not followed (it hung attach beyond SIGINT)', async () => {
      t = nbdTest({devices: 1});
      const fifo = `${t.host.root}/fifo`;
      execFileSync('mkfifo', [fifo]);
      mkdirSync(dirname(lockPath(t.host.roots)), {recursive: true});
      symlinkSync(fifo, lockPath(t.host.roots));
      const started = Date.now();
      await expect(withNbdLock(t.host.roots, 'x', async () => undefined, {waitMs: 300})).rejects.toMatchObject({
        message: expect.stringMatching(/is a symbolic link, not a lock tdx-wizard made/),
        fix: `remove it (rm ${lockPath(t.host.roots)}) once no tdx-wizard runs, and find out who made it`,
      });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('a symlink to /dev/zero: refused without reading it', async () => {
      t = nbdTest({devices: 1});
      mkdirSync(dirname(lockPath(t.host.roots)), {recursive: true});
      symlinkSync('/dev/zero', lockPath(t.host.roots));
      await expect(withNbdLock(t.host.roots, 'x', async () => undefined, {waitMs: 300})).rejects.toMatchObject({message: expect.stringMatching(/is a symbolic link/)});
    });

    it('a large file: refused without reading it whole', async () => {
      t = nbdTest({devices: 1});
      t.host.write(lockRel(), 'x'.repeat(100_000));
      await expect(withNbdLock(t.host.roots, 'x', async () => undefined, {waitMs: 300})).rejects.toMatchObject({message: expect.stringMatching(/100000 bytes, not a lock tdx-wizard made/)});
    });

    it('a lock another user owns naming pid 1: refused, and never suggests kill -TERM 1', async () => {
      t = nbdTest({devices: 1});
      t.host.write(lockRel(), JSON.stringify({pid: 1, what: 'attach', since: ''}));
      chownSync(lockPath(t.host.roots), 65534, 65534);
      const error = await withNbdLock(t.host.roots, 'x', async () => undefined, {waitMs: 300}).then(() => ({message: 'taken', fix: ''}), (e: unknown) => e as {message: string; fix?: string});
      expect(error.message).toMatch(/is owned by uid 65534, not root, not a lock tdx-wizard made/);
      expect(`${error.message} ${error.fix}`).not.toMatch(/kill/);
    });

    it("root's lock naming a live process that is not a tdx-wizard: not believed, taken over", async () => {
      t = nbdTest({devices: 1});
      const other = t.host.addProcess(['/usr/sbin/sshd', '-D']);
      t.host.write(lockRel(), JSON.stringify({pid: other, what: 'attach', since: ''}));
      let ran = false;
      await withNbdLock(t.host.roots, 'x', async () => void (ran = true), {waitMs: 300});
      expect(ran).toBe(true);
    });
  });
});
