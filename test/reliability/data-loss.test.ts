// Data-loss guards. Every write path refuses an image in use (qemu's lock held by qemu-nbd -k or by
// qemu-storage-daemon, as a running VM holds it) and says by whom. Whatever would destroy a
// filesystem or a LUKS header asks for the name typed back (--confirm NAME without a terminal; --yes
// never covers it). create never overwrites: it refuses an existing ext4 or LUKS volume.
import {existsSync, mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli, snapshot} from '../helpers/cli.js';
import {FAKE_BIN, FakeHost} from '../helpers/fake-host.js';
import {startPty} from '../helpers/pty.js';
import {requireTools, tempDir, toolPath} from '../helpers/tools.js';
import {holdImage, holdWithStorageDaemon, makeVolume, randomData, readData, sha256} from '../helpers/volumes.js';
import {waitFor} from '../helpers/reliability.js';
import {IN_USE_EXIT} from '../../src/errors.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let n = 0;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-nbd', 'qemu-storage-daemon', 'mkfs.ext4', 'cryptsetup', 'debugfs', 'e2label', 'blkid');
  tmp = tempDir('tdxw-rel-guard-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});
afterAll(() => tmp?.remove());

function volume(spec: Parameters<typeof makeVolume>[2]): {path: string; dir: string} {
  const dir = join(tmp.path, `v${++n}`);
  mkdirSync(dir);
  return {path: makeVolume(dir, 'vol.qcow2', {size: '64M', ...spec}), dir};
}

const fileSum = (path: string) => sha256(readFileSync(path));

const HOLDERS = [
  ['qemu-nbd -k (a connected qemu-nbd)', 'qemu-nbd', (image: string) => holdImage(image)],
  ['qemu-storage-daemon', 'qemu-storage-daemon', holdWithStorageDaemon],
] as const;

describe('every write path refuses an image in use, and says by whom', () => {
  for (const [holderName, program, hold] of HOLDERS) {
    for (const [cmd, args, code] of [
      ['relabel', (p: string) => ['relabel', '--yes', p], IN_USE_EXIT],
      ['resize', (p: string) => ['resize', '--yes', p, '+64M'], IN_USE_EXIT],
      ['format', (p: string) => ['format', '--confirm', 'vol.qcow2', p], IN_USE_EXIT],
      ['repair', (p: string) => ['repair', '--confirm', 'vol.qcow2', p], IN_USE_EXIT],
    ] as const) {
      it(`${cmd}, held by ${holderName}: refused, naming ${program} and its pid; not one byte changed`, async () => {
        const data = randomData();
        const {path, dir} = volume({fs: 'ext4', label: 'wrong', data});
        const holder = await hold(path);
        let before: string;
        try {
          before = fileSum(path);
          const r = runCli(args(path), {env});
          expect(r.code, r.stderr).toBe(code);
          expect(r.stderr).toMatch(new RegExp(`is in use \\(held by ${program} \\(pid ${holder.pid}\\)\\)`));
          expect(r.stderr).toMatch(/fix: stop the VM/);
          expect(r.stderr).not.toMatch(/^\$ (e2label|qemu-img resize|mkfs)/m);
          expect(fileSum(path)).toBe(before);
        } finally {
          await holder.release();
        }
        expect(sha256(readData(path))).toBe(sha256(data));
        expect(existsSync(join(dir, 'state'))).toBe(false);
      });
    }
  }

  it('nbd attach of an image a VM holds: refused before touching a device, naming the holder', async () => {
    const {path} = volume({fs: 'ext4', label: 'tdx-cache'});
    const host = new FakeHost({devices: 2});
    const holder = await holdImage(path);
    try {
      // The fake sysfs for the devices, the real /proc for who holds the image.
      const r = runCli(['nbd', 'attach', path], {env: {...env, ...host.env, TDX_WIZARD_PROC_ROOT: '/proc', PATH: `${FAKE_BIN}:${process.env.PATH}`}});
      expect(r.code, r.stderr).toBe(IN_USE_EXIT);
      expect(r.stderr).toMatch(new RegExp(`is in use: Failed to get shared "write" lock: held by qemu-nbd \\(pid ${holder.pid}\\)`));
      expect(host.log()).toEqual([]); // no qemu-nbd --connect was tried
    } finally {
      await holder.release();
      await host.remove();
    }
  });

  for (const [state, what] of [['mounted', /is mounted on \/mnt\/cache; disconnecting would give that filesystem I\/O errors[\s\S]*fix: umount \/mnt\/cache/], ['held', /it is held by dm-0[\s\S]*fix: close the mapping first/]] as const) {
    it(`nbd detach of a ${state} device: refused, saying by what; nothing run`, async () => {
      const host = new FakeHost({devices: [{state: state === 'mounted' ? 'mounted' : 'held', image: '/srv/v.qcow2'}]});
      try {
        const before = snapshot(host.root);
        const r = runCli(['nbd', 'detach', '--confirm', '/dev/nbd0', '/dev/nbd0'], {env: {...env, ...host.env, TDX_WIZARD_STATE_DIR: join(host.root, 'state'), PATH: `${FAKE_BIN}:${process.env.PATH}`}});
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toMatch(what);
        expect(host.log()).toEqual([]);
        expect(snapshot(host.root).filter((l) => !l.includes('/state'))).toEqual(before);
      } finally {
        await host.remove();
      }
    });
  }

  it('nbd detach of a device this wizard did not attach: needs the device typed back (--confirm); there is no --yes', async () => {
    const host = new FakeHost({devices: [{state: 'connected', image: '/srv/someone.qcow2'}]});
    const e = {...env, ...host.env, TDX_WIZARD_STATE_DIR: join(host.root, 'state'), PATH: `${FAKE_BIN}:${process.env.PATH}`};
    try {
      const r = runCli(['nbd', 'detach', '/dev/nbd0'], {env: e});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Detaching \/dev\/nbd0 cuts off [\s\S]*fix: pass --confirm "\/dev\/nbd0"/);
      expect(runCli(['nbd', 'detach', '--yes', '/dev/nbd0'], {env: e}).stderr).toMatch(/unknown option '--yes'/);
      const wrong = runCli(['nbd', 'detach', '--confirm', '/dev/nbd1', '/dev/nbd0'], {env: e});
      expect(wrong.code).toBe(2);
      expect(host.log()).toEqual([]);
      expect(host.sysfsPid('nbd0')).toBeDefined();
      const ok = runCli(['nbd', 'detach', '--confirm', '/dev/nbd0', '/dev/nbd0'], {env: e});
      expect(ok.code, ok.stderr).toBe(0);
      await host.settle();
      expect(host.sysfsPid('nbd0')).toBeUndefined();
    } finally {
      await host.remove();
    }
  });
});

describe('destroying a filesystem or a LUKS header needs the name typed back', () => {
  for (const [kind, spec, shows] of [
    ['ext4', {fs: 'ext4', label: 'tdx-cache'}, /holds ext4 labelled "tdx-cache" \(the guest would already accept it\)\. Formatting destroys everything on it\./],
    // A LUKS2 volume with a guest's own label is refused outright (test/verify-set.test.ts); another still needs the typed name.
    ['LUKS2', {fs: 'luks2', label: 'old-luks'}, /holds a LUKS header labelled "old-luks": a production guest's encrypted data; its key cannot bring it back/],
  ] as const) {
    it(`format a ${kind} volume without a terminal: no --confirm, --yes, or a wrong name are refused (exit 2, unchanged); the name goes ahead`, () => {
      const {path} = volume(spec);
      const before = fileSum(path);
      for (const args of [['format', path], ['format', '--yes', path], ['format', '--confirm', 'VOL.qcow2', path], ['format', '--yes', '--confirm', 'vol', path]]) {
        const r = runCli(args, {env});
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(shows);
        expect(r.stderr).toMatch(/fix: pass --confirm "vol\.qcow2"/);
        expect(r.stderr).not.toMatch(/^\$ /m);
        expect(fileSum(path)).toBe(before);
      }
      const ok = runCli(['format', '--confirm', 'vol.qcow2', path], {env});
      expect(ok.code, ok.stderr).toBe(0);
      const after = JSON.parse(runCli(['inspect', '--json', path], {env}).stdout.trim().split('\n').at(-1)!);
      expect(after).toMatchObject({filesystem: 'ext4', label: 'tdx-cache', verdict: 'ready'});
    });
  }

  it('on a terminal: it shows what would be lost and waits for the name; anything else cancels, changing nothing', async () => {
    const {path} = volume({fs: 'ext4', label: 'models'});
    const before = fileSum(path);
    const run = startPty([CLI, 'format', path], {env, cols: 250});
    await run.waitFor(/holds ext4 labelled "models"\. Formatting destroys everything on it\./);
    await run.waitFor('Type vol.qcow2 to go ahead, anything else cancels:');
    await run.type('yes');
    await run.press('Enter');
    expect(await run.exited()).toBe(130);
    await run.waitFor(/Not confirmed: nothing was changed/); // the last output can reach the screen after the exit
    expect(fileSum(path)).toBe(before);
  });

  it('relabel of a LUKS2 header changes only the label (no typed name needed, nothing destroyed)', () => {
    const {path} = volume({fs: 'luks2', label: 'tdx-cache-storag'}); // a guest's own label is refused: test/verify-set.test.ts
    const uuid = JSON.parse(runCli(['inspect', '--json', path], {env}).stdout.trim().split('\n').at(-1)!).uuid;
    const r = runCli(['relabel', '--yes', path], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(runCli(['inspect', '--json', path], {env}).stdout.trim().split('\n').at(-1)!)).toMatchObject({filesystem: 'crypto_LUKS', label: 'tdx-cache', uuid, verdict: 'provisioned'});
  });
});

describe('create never overwrites', () => {
  for (const [kind, spec] of [['ext4 (with data)', {fs: 'ext4', label: 'tdx-cache', data: randomData()}], ['LUKS2', {fs: 'luks2', label: 'tdx-cache'}]] as const) {
    it(`an existing ${kind} volume: refused (exit 2), with the inspect command; not one byte changed`, () => {
      const {path, dir} = volume(spec);
      const before = fileSum(path);
      const listing = snapshot(dir);
      for (const args of [['create', path, '100G'], ['create', '--force-small', path, '64M'], ['create', '--method', 'nbd', path, '100G']]) {
        const r = runCli(args, {env});
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`${path} already exists \\(\\d+ bytes\\); creating would destroy it\\n {2}fix: choose another name, or check the existing one with: tdx-wizard inspect ${path}`));
        expect(fileSum(path)).toBe(before);
        expect(snapshot(dir)).toEqual(listing);
      }
      if ('data' in spec) expect(sha256(readData(path))).toBe(sha256(spec.data));
    });
  }
});
