// The checks of the era found (src/host/era-checks.ts): against the real upstream launcher files
// copied into a fake checkout, fake sysfs/procfs roots, the dmesg stand-in and a python3 whose
// importable modules the test chooses. The launch preflight is the same functions' failures.
import {cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import {runChecks, type Check} from '../src/host/checks.js';
import {eraChecks, externalImports, firmwareCheck, importsOf, pythonCheck, tapCheck, tdxModuleCheck} from '../src/host/era-checks.js';
import {adapterFor} from '../src/vm/adapters/index.js';
import type {LaunchFields} from '../src/vm/fields.js';
import {nbdTest, type NbdTest} from './helpers/nbd-setup.js';
import {requireTools, sh, toolPath} from './helpers/tools.js';

const UPSTREAM = resolve('../shared/upstream');
const DIRS = {E2: '2025-11_run-vm_chutesai-a2ba679', E3b: '2026-01_containerd_chutesai-e9c8032', E4: '2026-02_doc-era_kierr-5255961', E5: '2026-02_raw_kierr-c5a0b61', E6: 'newest_rayonlabs-3a1a37cd'} as const;
const era = (id: string) => findEra(id)!;
const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id)!;
const fixture = (name: string) => resolve('test/fixtures/nbd', name);

let t: NbdTest;
let realPython: string;
afterEach(async () => t?.done());
beforeAll(() => {
  requireTools('python3');
  realPython = sh(toolPath('python3'), ['-c', 'import sys; print(sys.executable)']).trim(); // past any pyenv shim
  if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: the tests need shared/upstream beside the checkout`);
});

/** The upstream checkout of an era under the fake host: <root>/<era>/host-tools/scripts, optionally with firmware/TDVF.fd. */
function checkout(id: keyof typeof DIRS, firmware = true): string {
  const repo = join(t.host.root, id);
  const scripts = join(repo, 'host-tools/scripts');
  cpSync(join(UPSTREAM, DIRS[id], 'host-tools/scripts'), scripts, {recursive: true});
  sh('chmod', ['-R', 'u+w', repo]);
  if (firmware) {
    mkdirSync(join(repo, 'firmware'), {recursive: true});
    writeFileSync(join(repo, 'firmware/TDVF.fd'), 'stand-in firmware\n');
  }
  return scripts;
}

/** A python3 with only the standard library (-S: no site-packages) and the stub modules named here, so yaml/jsonschema do not depend on this machine. */
function python(stubs: string[]): string {
  const dir = join(t.host.root, 'python-bin');
  const lib = join(t.host.root, 'python-stubs');
  mkdirSync(dir, {recursive: true});
  mkdirSync(lib, {recursive: true});
  for (const m of stubs) writeFileSync(join(lib, `${m}.py`), '');
  writeFileSync(join(dir, 'python3'), `#!/bin/sh\nPYTHONPATH=${lib} exec ${realPython} -S "$@"\n`, {mode: 0o755});
  return dir;
}

/** vmtap0 on br0 in sysfs, as setup-bridge.sh leaves it; a default route via eth7. */
function bridge(onBridge = true): void {
  const net = join(t.host.roots.sys, 'class/net');
  mkdirSync(join(net, 'br0/bridge'), {recursive: true});
  mkdirSync(join(net, 'vmtap0'), {recursive: true});
  writeFileSync(join(net, 'vmtap0/tun_flags'), '0x1002\n');
  if (onBridge) symlinkSync('../br0', join(net, 'vmtap0/master'));
}

function route(iface = 'eth7'): void {
  t.host.write('proc/net/route', `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n${iface}\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n`);
}

describe('tdx-wizard check: the checks of the era found, after the launcher', () => {
  it('E4 (the document\'s run-td): TDX as quick-launch.sh Step 0 reads it, TDVF.fd two levels up, python3 and its modules, vmtap0 on br0: all ok', async () => {
    t = nbdTest({tdx: 'Y'}, {FAKE_DMESG_FILE: fixture('dmesg-tdx.txt')});
    const scripts = checkout('E4');
    bridge();
    const checks = await runChecks(t.runner, {roots: t.host.roots, dir: t.host.root, launcher: join(scripts, 'run-td'), euid: 0, searchPath: `${python(['yaml', 'jsonschema'])}:${process.env.PATH}`});
    const ids = checks.map((c) => c.id);
    expect(ids.slice(ids.indexOf('launcher'))).toEqual(['launcher', 'era:tdx', 'era:firmware', 'era:python', 'era:tap', 'vm']);
    expect(byId(checks, 'launcher').summary).toMatch(/era E4/);
    expect(byId(checks, 'era:tdx')).toMatchObject({status: 'ok', evidence: [{source: 'dmesg | grep -i tdx', said: '[   10.913489] virt/tdx: module initialized'}]});
    expect(byId(checks, 'era:firmware')).toMatchObject({status: 'ok', summary: join(t.host.root, 'E4/firmware/TDVF.fd')});
    const py = byId(checks, 'era:python');
    expect(py.status, JSON.stringify(py)).toBe('ok');
    // The modules were found by reading the files: run-td's and parse-config.py's.
    expect(py.evidence).toContainEqual({source: join(scripts, 'run-td'), said: 'imports argparse, os, platform, re, signal, subprocess, time, sys'});
    expect(py.evidence).toContainEqual({source: join(scripts, 'parse-config.py'), said: 'imports sys, os, yaml, shlex, json, jsonschema'});
    expect(py.evidence).toContainEqual({source: "python3 -c 'import M'", said: 'ok: argparse, json, jsonschema, os, platform, re, shlex, signal, subprocess, sys, time, yaml'});
    expect(byId(checks, 'era:tap')).toMatchObject({status: 'ok', summary: 'vmtap0 is on br0'});
  });

  it('E4 on a bare host: each fails or warns with its evidence and fix; the kernel log is read once', async () => {
    t = nbdTest({}, {FAKE_DMESG_FILE: fixture('dmesg-no-tdx.txt')});
    const scripts = checkout('E4', false);
    route();
    const checks = await runChecks(t.runner, {roots: t.host.roots, dir: t.host.root, launcher: join(scripts, 'run-td'), euid: 0, searchPath: `${python(['yaml'])}:${process.env.PATH}`});
    expect(byId(checks, 'era:tdx')).toMatchObject({status: 'fail', summary: expect.stringContaining('TDX module not initialized on this host'), fix: expect.stringContaining('kvm_intel.tdx=1')});
    expect(t.host.log().filter((l) => l.startsWith('dmesg'))).toHaveLength(1); // shared with the generic tdx check
    const fw = byId(checks, 'era:firmware');
    expect(fw).toMatchObject({status: 'fail', fix: expect.stringContaining('firmware/TDVF.fd')});
    expect(fw.evidence).toEqual([
      {source: 'run-td loads', said: `-bios ../../firmware/TDVF.fd, relative to the working directory: the wizard runs run-td from ${scripts}`},
      {source: join(t.host.root, 'E4/firmware/TDVF.fd'), said: 'absent'},
    ]);
    // jsonschema only matters to quick-launch.sh's config parser: a warning, and the Debian package.
    const py = byId(checks, 'era:python');
    expect(py).toMatchObject({status: 'warn', summary: expect.stringMatching(/cannot import jsonschema: quick-launch\.sh with a config file would stop/), fix: 'apt-get install -y python3-jsonschema', autoFix: true});
    expect(py.evidence).toContainEqual({source: "python3 -c 'import jsonschema'", said: "ModuleNotFoundError: No module named 'jsonschema'"});
    const tap = byId(checks, 'era:tap');
    expect(tap).toMatchObject({status: 'warn', summary: expect.stringContaining('no network interface vmtap0')});
    expect(tap.fix).toBe(`cd ${scripts} && sudo ./setup-bridge.sh --bridge-ip 192.168.100.1/24 --vm-ip 192.168.100.2/24 --vm-dns 8.8.8.8 --public-iface eth7   (upstream's setup-bridge.sh: makes br0 and vmtap0 with NAT; or launch with --network-type user)`);
  });

  it('E5 (chutes_host): the package\'s modules are followed from run-td, never taken for missing ones; firmware relative to the scripts directory', async () => {
    t = nbdTest({tdx: 'Y'}, {FAKE_DMESG_FILE: fixture('dmesg-tdx.txt')});
    const scripts = checkout('E5');
    const found = await externalImports(scripts, [join(scripts, 'run-td')]);
    expect(found.modules).toEqual(['abc', 'argparse', 'os', 'platform', 're', 'signal', 'subprocess', 'sys', 'time']);
    expect(found.read.map((r) => r.file.slice(scripts.length + 1))).toEqual(expect.arrayContaining(['run-td', 'chutes_host/__main__.py', 'chutes_host/passthrough.py', 'chutes_host/qemu.py', 'chutes_host/gpu/profiles.py', 'chutes_host/vfio.py']));
    const checks = await eraChecks(era('E5'), join(scripts, 'run-td'), {runner: t.runner, roots: t.host.roots, searchPath: `${python(['yaml', 'jsonschema'])}:${process.env.PATH}`});
    expect(checks.map((c) => [c.id, c.status])).toEqual([['era:tdx', 'ok'], ['era:firmware', 'ok'], ['era:python', 'ok'], ['era:tap', 'warn']]);
    expect(byId(checks, 'era:firmware').evidence[0]).toEqual({source: 'run-td loads', said: `../../firmware/TDVF.fd relative to the scripts directory ${scripts}`});
    expect(byId(checks, 'era:python').evidence).toContainEqual({source: join(scripts, 'chutes_host/config.py'), said: expect.stringContaining('jsonschema')});
  });

  it('a module the launcher itself imports is missing: fail, naming the Debian package', async () => {
    t = nbdTest();
    const dir = join(t.host.root, 'scripts');
    mkdirSync(join(dir, 'pkg'), {recursive: true});
    writeFileSync(join(dir, 'run-td'), '#!/usr/bin/env python3\nimport os, sys as system\nfrom pkg.inner import thing\n');
    writeFileSync(join(dir, 'pkg/__init__.py'), '');
    writeFileSync(join(dir, 'pkg/inner.py'), 'import tdxw_absent_module\nfrom . import sibling\n');
    writeFileSync(join(dir, 'pkg/sibling.py'), 'import json\n');
    const c = await pythonCheck(era('E4'), join(dir, 'run-td'), {runner: t.runner, roots: t.host.roots, searchPath: python([])});
    expect(c).toMatchObject({status: 'fail', summary: 'python3 cannot import tdxw_absent_module: run-td would stop at once', fix: 'apt-get install -y python3-tdxw-absent-module'});
    expect(c.evidence).toContainEqual({source: "python3 -c 'import M'", said: 'ok: json, os, sys'});
    expect(c.evidence).toContainEqual({source: "python3 -c 'import tdxw_absent_module'", said: "ModuleNotFoundError: No module named 'tdxw_absent_module'"});
  });

  it('no python3: fail for run-td (a python3 program), with apt-get install python3', async () => {
    t = nbdTest();
    const scripts = checkout('E3b');
    const c = await pythonCheck(era('E3b'), join(scripts, 'run-td'), {runner: t.runner, roots: t.host.roots, searchPath: join(t.host.root, 'empty')});
    expect(c).toMatchObject({status: 'fail', fix: 'apt-get install -y python3', summary: expect.stringContaining('run-td is a python3 program')});
  });

  it('imports are read as Python writes them', () => {
    expect(importsOf('import a, b.c as d\nfrom x.y import (p,\n  q)\nfrom . import z\n  import e  # why\n"import no" \n')).toEqual([
      {module: 'a', names: []}, {module: 'b.c', names: []}, {module: 'x.y', names: ['p']}, {module: '.', names: ['z']}, {module: 'e', names: []},
    ]);
  });

  it('E2 (run-vm.sh): TDX from the kernel command line, as its quick-launch.sh reads it; python3 only for its config parser', async () => {
    t = nbdTest();
    const scripts = checkout('E2');
    t.host.write('proc/cmdline', 'BOOT_IMAGE=/vmlinuz ro quiet\n');
    const tdx = await tdxModuleCheck(era('E2'), era('E2').host.tdx!, {runner: t.runner, roots: t.host.roots});
    expect(tdx).toMatchObject({status: 'fail', summary: expect.stringContaining("Host kernel missing 'kvm_intel.tdx=1' parameter"), evidence: [{source: join(t.host.roots.proc, 'cmdline'), said: 'BOOT_IMAGE=/vmlinuz ro quiet'}]});
    t.host.write('proc/cmdline', 'BOOT_IMAGE=/vmlinuz ro kvm_intel.tdx=1 nohibernate\n');
    expect(await tdxModuleCheck(era('E2'), era('E2').host.tdx!, {runner: t.runner, roots: t.host.roots})).toMatchObject({status: 'ok'});
    const py = await pythonCheck(era('E2'), join(scripts, 'run-vm.sh'), {runner: t.runner, roots: t.host.roots, searchPath: `${python([])}:${process.env.PATH}`});
    expect(py.title).toMatch(/the wizard runs the launcher without it/);
    expect(['ok', 'warn']).toContain(py.status); // yaml may or may not be on this machine; never a failure
  });

  it('E6 (chutes-cvm): TDX from the kvm_intel parameter; OVMF.inteltdx.fd from $CHUTES_CVM_FIRMWARE_DIR or the checkout; no python or TAP check', async () => {
    t = nbdTest({tdx: 'N'});
    const scripts = checkout('E6', false);
    const shim = join(scripts, 'quick-launch.sh');
    let checks = await eraChecks(era('E6'), shim, {runner: t.runner, roots: t.host.roots, env: {}});
    expect(checks.map((c) => c.id)).toEqual(['era:tdx', 'era:firmware']);
    expect(byId(checks, 'era:tdx')).toMatchObject({status: 'fail', summary: "kvm_intel's tdx parameter is N, not Y"});
    expect(byId(checks, 'era:firmware')).toMatchObject({status: 'warn', fix: expect.stringContaining('export CHUTES_CVM_FIRMWARE_DIR=')});
    t.host.write('E6/firmware/OVMF.inteltdx.fd', 'stand-in\n');
    t.host.write('sys/module/kvm_intel/parameters/tdx', 'Y\n');
    checks = await eraChecks(era('E6'), shim, {runner: t.runner, roots: t.host.roots, env: {}});
    expect(checks.map((c) => c.status)).toEqual(['ok', 'ok']);
    expect(byId(checks, 'era:firmware').summary).toBe(join(t.host.root, 'E6/firmware/OVMF.inteltdx.fd'));
    const elsewhere = join(t.host.root, 'fw');
    const spec = era('E6').host.firmware!;
    expect(await firmwareCheck(era('E6'), spec, shim, {CHUTES_CVM_FIRMWARE_DIR: elsewhere})).toMatchObject({status: 'fail', summary: `${join(elsewhere, 'OVMF.inteltdx.fd')} is absent: QEMU would not start`});
  });

  it('E1 (run-tdx.sh): none of these checks (its launcher checks nothing of the kind)', async () => {
    t = nbdTest();
    const launcher = t.host.write('run-tdx.sh', '#!/bin/bash\n# run-tdx.sh — launch Intel-TDX guest, auto-passthrough NVIDIA H200 GPUs and NVSwitches,\n');
    expect(await eraChecks(era('E1'), launcher, {runner: t.runner, roots: t.host.roots})).toEqual([]);
  });

  it('TAP: present but on no bridge warns; given to a launch and absent it fails', async () => {
    t = nbdTest();
    const scripts = checkout('E4');
    bridge(false);
    expect(await tapCheck(era('E4'), join(scripts, 'run-td'), t.host.roots, {required: false})).toMatchObject({status: 'warn', summary: expect.stringContaining('on no bridge, not on br0')});
    expect(await tapCheck(era('E4'), join(scripts, 'run-td'), t.host.roots, {iface: 'vmtap9', required: true})).toMatchObject({status: 'fail'});
  });
});

describe('launch preflight: the same checks\' failures, each a refusal with its fix', () => {
  const fields = (more: Partial<LaunchFields>): LaunchFields => ({cacheVolume: '', volumes: {}, networkType: 'tap', netIface: 'vmtap0', extra: [], ...more});

  it('E4: no firmware, no vmtap0: both refused; python3 and its modules ran through the runner', async () => {
    t = nbdTest();
    const scripts = checkout('E4', false);
    const refused = await adapterFor(era('E4')).preflight(join(scripts, 'run-td'), fields({image: '/nonexistent.qcow2'}), era('E4'), {runner: t.runner, roots: t.host.roots, searchPath: `${python(['yaml'])}:${process.env.PATH}`});
    expect(refused.map((r) => r.text)).toEqual([
      `${join(t.host.root, 'E4/firmware/TDVF.fd')} is absent: QEMU would not start (the TD firmware is measured: upstream ships it in its checkout, it must not be replaced)`,
      'there is no network interface vmtap0: QEMU would make a TAP attached to nothing and the VM would have no network',
    ]);
    expect(refused[1]!.fix).toMatch(/sudo \.\/setup-bridge\.sh --bridge-ip/);
    expect(t.runner.store.getState().runs.map((r) => r.argv.slice(3).join(' '))).toContain('argparse json jsonschema os platform re shlex signal subprocess sys time yaml');
  });

  it('E5: a qcow2 boot image named .img is refused (the launcher would pass it as raw)', async () => {
    t = nbdTest();
    requireTools('qemu-img');
    const scripts = checkout('E5');
    bridge();
    const image = join(t.host.root, 'tdx-guest.img');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    const refused = await adapterFor(era('E5')).preflight(join(scripts, 'run-td'), fields({image}), era('E5'), {runner: t.runner, roots: t.host.roots, searchPath: `${python(['yaml', 'jsonschema'])}:${process.env.PATH}`});
    expect(refused).toEqual([{text: `the guest image ${image} is qcow2 but not named .qcow2: the E5 launcher would pass it as raw and the VM would not boot`, fix: `rename it: mv ${image} ${join(t.host.root, 'tdx-guest')}.qcow2`}]);
  });
});
