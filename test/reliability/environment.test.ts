// The host says no: a full disk (a small tmpfs), a read-only file system (a read-only bind mount),
// permission denied (run as nobody), and root needed but not there. Each: a clear error that says
// what and why, with the fix, and nothing left behind.
import {chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from '../helpers/cli.js';
import {FAKE_BIN, FakeHost} from '../helpers/fake-host.js';
import {requireTools, sh, tempDir, toolPath} from '../helpers/tools.js';
import {makeVolume, randomData, sha256} from '../helpers/volumes.js';
import {bindReadOnly, mountTmpfs, runCliAsNobody} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
const undo: Array<() => void> = [];

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'mount', 'umount', 'setpriv', 'dd');
  tmp = tempDir('tdxw-rel-env-');
  chmodSync(tmp.path, 0o755); // nobody must reach the directories below
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});

afterAll(() => {
  for (const fn of undo.reverse()) fn();
  tmp?.remove();
});

/** A stand-in for `tool` that first fills the file system of `dir` (as another writer would), then runs the real tool. */
function fillsDiskFirst(bin: string, tool: string, dir: string, when = 'true'): void {
  mkdirSync(bin, {recursive: true});
  writeFileSync(join(bin, tool), `#!/bin/bash\nif ${when}; then dd if=/dev/zero of='${dir}/filler' bs=1M count=128 2>/dev/null; fi\nexec '${toolPath(tool)}' "$@"\n`, {mode: 0o755});
}

describe('disk full while creating (a 64 MiB tmpfs)', () => {
  let small: string;
  beforeAll(() => {
    small = join(tmp.path, 'small');
    undo.push(mountTmpfs(small, '64m'));
  });

  it('too little space for the work: refused before anything is written (exit 2), with both figures', () => {
    const before = snapshot(small);
    const r = runCli(['create', join(small, 'cache.qcow2'), '100G'], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: \S+small has 64 MiB free; making the volume needs about 1\.09 GiB while it works\n {2}fix: free some space or choose another directory/);
    expect(snapshot(small)).toEqual(before);
  });

  for (const [tool, when] of [['mkfs.ext4', 'true'], ['qemu-img', '[ "$1" = convert ]']] as const) {
    it(`the disk fills up during ${tool}: exit 1, "the file system is full" with the fix, nothing left`, () => {
      const bin = join(tmp.path, `bin-full-${tool}`);
      fillsDiskFirst(bin, tool, small, when);
      // The raw file beside the volume (not in /dev/shm): mkfs.ext4 writes on the small file system too.
      const r = runCli(['create', '--force-small', join(small, 'cache.qcow2'), '64M'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: '', PATH: `${bin}:${process.env.PATH}`}});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`failed: the file system of ${small} is full: ${tool === 'qemu-img' ? 'qemu-img convert' : 'mkfs.ext4'} ran out of space`));
      expect(r.stderr).toMatch(/No space left on device/);
      expect(r.stderr).toMatch(new RegExp(`fix: free some space there \\(df -h ${small}\\) or create the volume in another directory`));
      expect(readdirSync(small)).toEqual(['filler']); // the other writer's file, nothing of ours
      sh('rm', ['-f', join(small, 'filler')]);
    });
  }

  it('with the space back, the same create succeeds', () => {
    const r = runCli(['create', '--force-small', join(small, 'cache.qcow2'), '64M'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: ''}});
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(small)).toEqual(['cache.qcow2']);
    sh('rm', ['-f', join(small, 'cache.qcow2')]);
  });

  it('the scratch space for the raw file (TDX_WIZARD_SCRATCH_DIR, /dev/shm by default) fills up during mkfs.ext4: its name in the message, nothing left anywhere', () => {
    const bin = join(tmp.path, 'bin-full-scratch');
    fillsDiskFirst(bin, 'mkfs.ext4', small);
    const target = join(tmp.path, 'roomy');
    mkdirSync(target);
    const r = runCli(['create', '--force-small', join(target, 'cache.qcow2'), '64M'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: small, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`failed: the file system of ${small}/tdx-wizard-raw-\\d+-\\w+ is full: mkfs.ext4 ran out of space`));
    expect(r.stderr).toMatch(/fix: free some space there \(df -h \S+\) or run with TDX_WIZARD_SCRATCH_DIR= \(empty: the raw file is made beside the volume\)/);
    expect(readdirSync(small)).toEqual(['filler']);
    expect(readdirSync(target)).toEqual([]);
    sh('rm', ['-f', join(small, 'filler')]);
  });
});

describe('a read-only file system', () => {
  let ro: string;
  let volume: string;
  let sum: string;
  beforeAll(() => {
    ro = join(tmp.path, 'readonly');
    mkdirSync(ro);
    volume = makeVolume(ro, 'vol.qcow2', {fs: 'ext4', label: 'wrong', size: '64M', data: randomData()});
    sum = sha256(readFileSync(volume));
    undo.push(bindReadOnly(ro));
  });

  it('create: exit 2, says the file system is read-only (not "permission denied": root cannot help)', () => {
    const before = snapshot(ro);
    const r = runCli(['create', '--force-small', join(ro, 'cache.qcow2'), '64M'], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: \S+readonly is on a read-only file system: nothing can be created there\n {2}fix: choose a directory on a writable file system \(or remount it read-write\)/);
    expect(r.stderr).not.toMatch(/run as root/);
    expect(snapshot(ro)).toEqual(before);
  });

  for (const args of [['relabel', '--yes'], ['resize', '--yes', '+64M'], ['format', '--confirm', 'vol.qcow2']]) {
    it(`${args[0]}: exit 2 before anything runs, says the volume is on a read-only file system`, () => {
      const before = snapshot(ro);
      const r = runCli(args[0] === 'resize' ? [args[0], args[1]!, volume, args[2]!] : [...args.slice(0, 1), ...args.slice(1), volume], {env});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`error: ${volume} is on a read-only file system: ${args[0]} writes to the volume\\n {2}fix: remount it read-write`));
      expect(r.stderr).not.toMatch(/^\$ /m); // no command ran
      expect(snapshot(ro)).toEqual(before);
      expect(sha256(readFileSync(volume))).toBe(sum); // every byte of the image file
    });
  }
});

describe('permission denied (as nobody)', () => {
  let dir: string;
  let volume: string;
  let nobodyEnv: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = join(tmp.path, 'roots-only');
    mkdirSync(dir, {mode: 0o755});
    volume = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'wrong', size: '64M'});
    const home = join(tmp.path, 'nobody-home');
    mkdirSync(home, {mode: 0o777});
    chmodSync(home, 0o777);
    nobodyEnv = {TDX_WIZARD_STATE_DIR: join(home, 'state'), TDX_WIZARD_CONFIG_DIR: join(home, 'config'), CI: 'true'};
  });

  it('create in a directory only root may write: exit 2, permission denied, and the fix', () => {
    const before = snapshot(dir);
    const r = runCliAsNobody(['create', '--force-small', join(dir, 'cache.qcow2'), '64M'], {env: nobodyEnv});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/error: permission denied: cannot create files in \S+roots-only\n {2}fix: run as root \(sudo\) or choose a directory you can write/);
    expect(snapshot(dir)).toEqual(before);
  });

  it('relabel a volume root owns (0644): exit 2 before anything runs, says this user cannot write it', () => {
    chmodSync(volume, 0o644);
    const before = snapshot(dir);
    const r = runCliAsNobody(['relabel', '--yes', volume], {env: nobodyEnv});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`error: ${volume} cannot be written by this user \\(permission denied\\): relabel writes to the volume\\n {2}fix: run as root \\(sudo\\), or as the owner of the volume`));
    expect(r.stderr).not.toMatch(/^\$ /m);
    expect(snapshot(dir)).toEqual(before);
  });

  it('inspect and relabel a volume only root may read (0600): "cannot be read (permission denied)", never a raw EACCES', () => {
    chmodSync(volume, 0o600);
    const inspect = runCliAsNobody(['inspect', volume], {env: nobodyEnv});
    expect(inspect.stdout + inspect.stderr).toMatch(/cannot be read \(permission denied\)/);
    expect(inspect.stdout + inspect.stderr).not.toMatch(/EACCES/);
    const r = runCliAsNobody(['relabel', '--yes', volume], {env: nobodyEnv});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`error: ${volume} cannot be read \\(permission denied\\)\\n {2}fix: run as root \\(sudo\\), or as the owner of the volume`));
  });
});

describe('root needed, and not there (as nobody): says what needs root and why', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['nbd load', ['nbd', 'load'], /loading the nbd kernel module needs root: only root may insert kernel modules \(modprobe needs CAP_SYS_MODULE\)[\s\S]*fix: sudo tdx-wizard nbd load/],
    ['nbd attach', ['nbd', 'attach', '/nonexistent.qcow2'], /attaching to \/dev\/nbdN needs root: qemu-nbd --connect opens the NBD device, which only root may do[\s\S]*fix: sudo tdx-wizard nbd attach/],
    ['nbd detach', ['nbd', 'detach', '/dev/nbd0'], /detaching \/dev\/nbd0 needs root: flushing and disconnecting an NBD device opens it, which only root may do[\s\S]*fix: sudo tdx-wizard nbd detach \/dev\/nbd0/],
    ['create --method nbd', ['create', '--method', 'nbd', '/tmp/tdxw-never.qcow2', '100G'], /create --method nbd needs root: it connects the image to \/dev\/nbdN with qemu-nbd, and only root may open NBD devices[\s\S]*fix: .*the offline method needs no root/],
  ];
  for (const [name, args, message] of cases) {
    it(`${name}: exit 2, nothing run, the fake host unchanged`, async () => {
      const host = new FakeHost({module: name === 'nbd load' ? 'missing' : 'loaded', devices: [{state: 'connected', image: '/v/a.qcow2'}]});
      try {
        sh('chmod', ['-R', 'a+rX', host.root]);
        const before = snapshot(host.root);
        const r = runCliAsNobody(args, {env: {...host.env, TDX_WIZARD_STATE_DIR: join(tmp.path, 'nobody-home', 'state'), PATH: `${FAKE_BIN}:${process.env.PATH}`}});
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toMatch(/running as uid 65534/);
        expect(host.log()).toEqual([]); // no stand-in (modprobe, qemu-nbd, blockdev) was run
        expect(snapshot(host.root)).toEqual(before);
      } finally {
        await host.remove();
      }
    });
  }
});
