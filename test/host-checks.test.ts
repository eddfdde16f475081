// tdx-wizard check: every check against fixture trees, stand-in programs and a chosen PATH.
import {chmodSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {table} from '../src/commands/check.js';
import {launcherCheck, rootCheck, runChecks, spaceCheck, vmCheck, type Check} from '../src/host/checks.js';
import {nbdCheck, tdxCheck} from '../src/host/kernel-checks.js';
import {hostRoots} from '../src/host/roots.js';
import {TOOLS, toolChecks} from '../src/host/tool-checks.js';
import {nbdTest, ran, type NbdTest} from './helpers/nbd-setup.js';
import {requireTools, toolPath} from './helpers/tools.js';

let t: NbdTest;
afterEach(async () => t?.done());
beforeAll(() => requireTools(...TOOLS.map((tool) => tool.name)));

const fixture = (name: string) => resolve('test/fixtures/nbd', name);
const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id)!;

/** A directory holding links to only some of the real tools: the PATH of a host that lacks the rest. */
function pathWith(t: NbdTest, names: string[]): string {
  const dir = join(t.host.root, 'bin');
  mkdirSync(dir, {recursive: true});
  for (const name of names) symlinkSync(toolPath(name), join(dir, name));
  return dir;
}

describe('host roots', () => {
  it('default to the real paths; the environment and parameters move them', () => {
    expect(hostRoots({}, {})).toEqual({sys: '/sys', proc: '/proc', dev: '/dev', run: '/run', etc: '/etc', var: '/var'});
    expect(hostRoots({}, {TDX_WIZARD_SYS_ROOT: '/f/sys', TDX_WIZARD_ETC_ROOT: '/f/etc'})).toMatchObject({sys: '/f/sys', etc: '/f/etc', proc: '/proc'});
    expect(hostRoots({sys: '/p/sys'}, {TDX_WIZARD_SYS_ROOT: '/f/sys'}).sys).toBe('/p/sys');
  });
});

describe('host checks', () => {
  it('a good host: everything ok, each with its evidence; the version commands are run', async () => {
    t = nbdTest({devices: [{state: 'free'}, {state: 'connected'}], tdx: 'Y'});
    const launcher = t.host.write('run-tdx.sh', '#!/bin/bash\n# run-tdx.sh — launch Intel-TDX guest, auto-passthrough NVIDIA H200 GPUs and NVSwitches,\n');
    chmodSync(launcher, 0o755);
    const checks = await runChecks(t.runner, {roots: t.host.roots, dir: t.host.root, launcher, euid: 0});
    expect(checks.map((c) => c.id)).toEqual(['root', ...TOOLS.map((tool) => `tool:${tool.name}`), 'nbd', 'fuse', 'kvm', 'tdx', 'space', 'capacity', 'launcher', 'vm']);
    for (const c of checks.filter((c) => c.id !== 'space')) expect([c.id, c.status]).toEqual([c.id, 'ok']);
    expect(byId(checks, 'tool:qemu-img').summary).toMatch(/^qemu-img version \d+\.\d+/);
    expect(byId(checks, 'tool:mkfs.ext4').evidence).toContainEqual({source: 'mkfs.ext4 -V', said: expect.stringMatching(/^mke2fs \d/)});
    expect(byId(checks, 'tool:e2label').summary).toBe('no version option');
    expect(byId(checks, 'nbd')).toMatchObject({summary: 'loaded: nbds_max=2, max_part=8, 1 of 2 free'});
    expect(byId(checks, 'nbd').evidence).toContainEqual({source: join(t.host.roots.sys, 'module/nbd/parameters/max_part'), said: '8'});
    expect(byId(checks, 'tdx').evidence).toEqual([{source: join(t.host.roots.sys, 'module/kvm_intel/parameters/tdx'), said: 'Y'}]);
    expect(byId(checks, 'space').evidence[0]!.source).toBe(`statfs ${t.host.root}`);
    expect(byId(checks, 'launcher').evidence).toEqual([
      {source: launcher, said: '#!/bin/bash | # run-tdx.sh — launch Intel-TDX guest, auto-passthrough NVIDIA H200 GPUs and NVSwitches,'},
      {source: "era (the launcher's files, read)", said: expect.stringMatching(/^E1: run-tdx\.sh has "# run-tdx\.sh — launch Intel-TDX guest/)},
    ]);
    expect(byId(checks, 'launcher').summary).toMatch(/is executable; era E1, run-tdx\.sh \(November 2025\)$/);
    expect(ran(t.runner)).toContain(`${toolPath('qemu-img')} --version`);
    expect(table(checks)).toMatch(/^ok +running as root: root$/m);
    expect(byId(checks, 'tool:qemu-nbd').summary).toBe('qemu-nbd 7.2.22 (stand-in for tests)');
  });

  it('missing tools: each fails naming its Debian package and the apt-get command; cryptsetup and mkfs.xfs only warn', async () => {
    t = nbdTest();
    const checks = await toolChecks(t.runner, {searchPath: pathWith(t, ['qemu-img', 'mkfs.ext4']), extraDirs: []});
    expect(byId(checks, 'tool:qemu-img').status).toBe('ok');
    expect(byId(checks, 'tool:mkfs.ext4').status).toBe('ok');
    expect(byId(checks, 'tool:qemu-nbd')).toMatchObject({status: 'fail', summary: 'qemu-nbd is not installed (Debian/Ubuntu package qemu-utils)', fix: 'apt-get install -y qemu-utils', autoFix: true});
    expect(byId(checks, 'tool:qemu-storage-daemon')).toMatchObject({status: 'fail', fix: 'apt-get install -y qemu-system-common'});
    for (const name of ['blkid', 'e2label', 'e2fsck', 'resize2fs']) expect(byId(checks, `tool:${name}`)).toMatchObject({status: 'fail', fix: expect.stringMatching(/^apt-get install -y (e2fsprogs|util-linux)$/)});
    expect(byId(checks, 'tool:cryptsetup')).toMatchObject({status: 'warn', fix: 'apt-get install -y cryptsetup-bin'});
    expect(byId(checks, 'tool:mkfs.xfs')).toMatchObject({status: 'warn', summary: 'mkfs.xfs is not installed (Debian/Ubuntu package xfsprogs)', fix: 'apt-get install -y xfsprogs'});
    // Nothing missing was run.
    expect(ran(t.runner).some((c) => c.includes('qemu-nbd'))).toBe(false);
  });

  it('installed in /usr/sbin but not on a non-root PATH: warns, with the PATH fix', async () => {
    t = nbdTest();
    const checks = await toolChecks(t.runner, {searchPath: pathWith(t, ['qemu-img'])});
    const sbin = toolPath('mkfs.ext4').replace(/\/mkfs\.ext4$/, '');
    expect(byId(checks, 'tool:mkfs.ext4')).toMatchObject({status: 'warn', summary: `${sbin}/mkfs.ext4 is installed but its directory is not on PATH`, fix: `export PATH="$PATH:${sbin}"`});
  });

  it('a tool that cannot say its version: warns (probably broken), with a reinstall', async () => {
    t = nbdTest();
    const dir = pathWith(t, []);
    writeFileSync(join(dir, 'qemu-img'), '#!/bin/sh\necho "error while loading shared libraries: libfoo.so.1" >&2\nexit 127\n', {mode: 0o755});
    const c = byId(await toolChecks(t.runner, {searchPath: dir, extraDirs: []}), 'tool:qemu-img');
    expect(c).toMatchObject({status: 'warn', fix: 'apt-get install --reinstall -y qemu-utils'});
    expect(c.evidence[1]).toEqual({source: 'qemu-img --version', said: 'exit code 127: error while loading shared libraries: libfoo.so.1'});
  });

  it('not root: a warning that lists what needs root and why', () => {
    const c = rootCheck(1000);
    expect(c).toMatchObject({status: 'warn', fix: 'sudo tdx-wizard check'});
    expect(c.summary).toMatch(/modprobe.*qemu-nbd --connect.*dmesg.*pid file.*launching the VM/);
  });

  it('nbd not loaded but loadable: warn, the fix is modprobe and the wizard may run it', async () => {
    t = nbdTest({module: 'missing'});
    const c = await nbdCheck(t.runner, t.host.roots);
    expect(c).toMatchObject({status: 'warn', summary: 'not loaded, but loadable', fix: 'modprobe nbd max_part=8', autoFix: true});
    expect(t.host.log()).toEqual(['modprobe -n -v nbd']);
  });

  it('nbd not in this kernel: warn (FUSE works without it), with the package', async () => {
    t = nbdTest({module: 'missing'}, {FAKE_MODPROBE: 'missing'});
    const c = await nbdCheck(t.runner, t.host.roots);
    expect(c).toMatchObject({status: 'warn', fix: expect.stringContaining('linux-modules-extra')});
    expect(c.evidence[1]).toEqual({source: 'modprobe -n -v nbd', said: expect.stringContaining('Module nbd not found')});
  });

  it('no modprobe at all: warn, names the kmod package', async () => {
    t = nbdTest({module: 'missing'});
    // Not on PATH, nor in the sbin directories the runner adds: a runner whose PATH is set outright.
    const runner = new Runner({store: createAppStore(), env: {PATH: '/nonexistent'}});
    const c = await nbdCheck(runner, t.host.roots);
    expect(c).toMatchObject({status: 'warn', fix: 'apt-get install -y kmod'});
  });

  it('/dev/fuse and /dev/kvm missing: both fail with a fix', async () => {
    t = nbdTest({fuse: false, kvm: false, tdx: 'Y'});
    const checks = await runChecks(t.runner, {roots: t.host.roots, dir: t.host.root, euid: 0});
    expect(byId(checks, 'fuse')).toMatchObject({status: 'fail', fix: 'modprobe fuse', autoFix: true});
    expect(byId(checks, 'kvm')).toMatchObject({status: 'fail', fix: expect.stringContaining('modprobe kvm_intel')});
  });

  it('TDX: the kvm_intel parameter says N: fail', async () => {
    t = nbdTest({tdx: 'N'});
    expect(await tdxCheck(t.runner, t.host.roots)).toMatchObject({status: 'fail', summary: 'kvm_intel has TDX off'});
    expect(ran(t.runner)).toEqual([]);
  });

  it('TDX: no parameter, the kernel log says "tdx: module initialized": ok', async () => {
    t = nbdTest({}, {FAKE_DMESG_FILE: fixture('dmesg-tdx.txt')});
    const c = await tdxCheck(t.runner, t.host.roots);
    expect(c).toMatchObject({status: 'ok'});
    expect(c.evidence[1]).toEqual({source: 'dmesg | grep -i tdx', said: '[   10.913489] virt/tdx: module initialized'});
    // Only the TDX lines reach the record, not the whole kernel log.
    const recorded = t.runner.store.getState().runs[0]!.lines.last().map((l) => l.text);
    expect(recorded).toContain('[   10.913489] virt/tdx: module initialized');
    expect(recorded.filter((l) => !/tdx/i.test(l))).toEqual([]);
  });

  it('TDX: the kernel log lacks it: fail, showing the TDX lines it has', async () => {
    t = nbdTest({}, {FAKE_DMESG_FILE: fixture('dmesg-no-tdx.txt')});
    const c = await tdxCheck(t.runner, t.host.roots);
    expect(c).toMatchObject({status: 'fail', fix: expect.stringContaining('kvm_intel.tdx=1')});
    expect(c.evidence[1]!.said).toContain('TDX not supported by the host platform');
  });

  it('TDX: dmesg is not allowed: tolerated as a warning', async () => {
    t = nbdTest({}, {FAKE_DMESG: 'fail'});
    const c = await tdxCheck(t.runner, t.host.roots);
    expect(c).toMatchObject({status: 'warn', fix: 'sudo dmesg | grep -i tdx'});
    expect(c.evidence[1]).toEqual({source: 'dmesg', said: 'dmesg: read kernel buffer failed: Operation not permitted'});
  });

  it('free space: statfs of the directory (or its nearest existing parent)', async () => {
    t = nbdTest();
    const c = await spaceCheck(join(t.host.root, 'not', 'yet'));
    expect(['ok', 'warn', 'fail']).toContain(c.status);
    expect(c.evidence[0]!.said).toMatch(/available \(\d+ bytes\)/);
  });

  it('launcher: missing warns, not executable fails with chmod (safe to run)', async () => {
    t = nbdTest();
    expect(await launcherCheck(join(t.host.root, 'run-tdx.sh'), false)).toMatchObject({status: 'warn', fix: 'tdx-wizard check --launcher /path/to/host-tools/scripts/run-td (or run-tdx.sh)'});
    const script = t.host.write('run-tdx.sh', '#!/bin/bash\n');
    chmodSync(script, 0o644);
    expect(await launcherCheck(script, true)).toMatchObject({status: 'fail', fix: `chmod +x ${script}`, autoFix: true});
    // A launcher with no known signature: its era is unknown, never guessed.
    chmodSync(script, 0o755);
    const unknown = await launcherCheck(script, true);
    expect(unknown).toMatchObject({status: 'warn', summary: expect.stringMatching(/its era is unknown/), fix: expect.stringMatching(/--era/)});
    expect(unknown.evidence[1]).toEqual({source: "era (the launcher's files, read)", said: 'no known upstream signature'});
  });

  it('a VM running, a leftover pid file, and none', async () => {
    t = nbdTest();
    const pidFile = join(t.host.root, 'tdx-td-pid.pid');
    process.env.TDX_WIZARD_PID_FILE = pidFile;
    expect(await vmCheck(t.host.roots)).toMatchObject({status: 'ok', summary: 'no VM running'});
    const qemu = t.host.addProcess(['qemu-system-x86_64', '-name', 'td', '-object', 'tdx-guest,id=tdx']);
    writeFileSync(pidFile, `${qemu}\n`);
    const running = await vmCheck(t.host.roots);
    expect(running).toMatchObject({status: 'warn', fix: "tdx-wizard stop (the launcher's own --clean, confirmed)"});
    expect(running.evidence[1]).toEqual({source: `${t.host.roots.proc}/${qemu}/cmdline`, said: 'qemu-system-x86_64 -name td'});
    t.host.killProcess(qemu);
    expect(await vmCheck(t.host.roots)).toMatchObject({status: 'warn', summary: expect.stringContaining('not running: a leftover'), fix: `rm ${pidFile}`});
  });
});
