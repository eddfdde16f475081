import {mkdirSync, writeFileSync} from 'node:fs';
// The wizard's launch form and review from the era's adapter: which fields each launcher kind is
// asked for, and what the review says about the seed (masked and the exposure note where the
// launcher takes it; where it is instead for a config-volume launcher).
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import {launchPages} from '../src/wizard/launch.js';
import {reviewLaunch} from '../src/wizard/launch-review.js';
import {tempDir} from './helpers/tools.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';

const runner = () => new Runner({store: createAppStore(), dryRun: false});

const era = (id: string) => findEra(id)!;
const names = (id: string, settings = {}) => launchPages(era(id), settings, '/nowhere').map((p) => p.fields.map((f) => f.name));
const SEED = 'c0ffee'.repeat(10) + 'c0ff';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => (tmp = tempDir('tdxw-launch-form-')));
afterAll(() => tmp.remove());

describe('the launch form asks what the era\'s launcher takes', () => {
  it('run-td (E3b, E4, E5): the launcher and the set\'s volumes, then network and image; no credentials', () => {
    expect(names('E4')).toEqual([['launcher', 'volume:cache', 'volume:storage', 'volume:config'], ['networkType', 'netIface', 'sshPort', 'image']]);
    expect(names('E3b')[0]).toEqual(['launcher', 'volume:cache', 'volume:containerd', 'volume:config']);
    expect(launchPages(era('E4'), {}, '/nowhere')[1]!.intro).toBe('Step 2 of 2: the network (tap, user) and the guest image.');
  });

  it('E1 (run-tdx.sh): as before, the miner on the first page (the seed masked), the whole network on the second', () => {
    expect(names('E1')).toEqual([
      ['launcher', 'volume:cache', 'hostname', 'minerSs58', 'minerSeed'],
      ['networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'],
    ]);
    expect(launchPages(era('E1'), {}, '/nowhere')[0]!.fields.find((f) => f.name === 'minerSeed')?.secret).toBe(true);
  });

  it('the set\'s files come from the settings; a network type the launcher does not take is not offered', () => {
    const pages = launchPages(era('E4'), {volumes: {cache: '/v/c.qcow2', storage: '/v/s.qcow2', config: '/v/k.qcow2'}, networkType: 'macvtap'}, '/nowhere');
    expect(pages[0]!.fields.slice(1).map((f) => f.initial)).toEqual(['/v/c.qcow2', '/v/s.qcow2', '/v/k.qcow2']);
    const type = pages[1]!.fields.find((f) => f.name === 'networkType')!;
    expect(type.initial).toBe('tap');
    expect(type.choices).toEqual(['tap', 'user']); // a choice, never free text: macvtap cannot be picked
  });

  it('every network field is checked as it is typed, in the field\'s words (an IP of .300, port abc, vCPUs -3, memory lots all showed a tick)', () => {
    const fields = Object.fromEntries(launchPages(era('E1'), {}, '/nowhere')[1]!.fields.map((f) => [f.name, f]));
    const check = (name: string, value: string, all: Record<string, string> = {}) => fields[name]!.validate!(value, all);
    expect(check('vmIp', '192.168.100.300')).toMatchObject({ok: false, message: expect.stringMatching(/not an IPv4 address/)});
    expect(check('vmIp', '192.168.100.2')).toEqual({ok: true});
    expect(check('vmGateway', '10.0.0.1', {vmIp: '192.168.100.2'})).toMatchObject({ok: false, message: expect.stringMatching(/outside the VM's network/)});
    expect(check('vmGateway', '192.168.100.1', {vmIp: '192.168.100.2'})).toEqual({ok: true});
    expect(check('vmDns', '8.8.8')).toMatchObject({ok: false});
    expect(check('sshPort', 'abc')).toMatchObject({ok: false, message: expect.stringMatching(/SSH port "abc"/)});
    expect(check('vcpus', '-3')).toMatchObject({ok: false});
    expect(check('mem', 'lots')).toMatchObject({ok: false, message: expect.stringMatching(/memory size "lots"/)});
    for (const name of ['sshPort', 'vcpus', 'mem']) expect(check(name, '')).toEqual({ok: true}); // empty: the launcher's default
    expect(check('netIface', 'eth0', {networkType: 'user'})).toMatchObject({ok: false, message: 'user networking takes no interface'});
  });

  it('a tap interface that does not exist is refused, and the ones that do are offered', () => {
    const sys = join(tmp.path, 'sys-ifaces');
    for (const [name, tun] of [['vmtap0', true], ['tap7', true], ['eth0', false]] as const) {
      mkdirSync(join(sys, 'class/net', name), {recursive: true});
      if (tun) writeFileSync(join(sys, 'class/net', name, 'tun_flags'), '0x1002\n');
    }
    const saved = process.env.TDX_WIZARD_SYS_ROOT;
    process.env.TDX_WIZARD_SYS_ROOT = sys;
    try {
      const iface = launchPages(era('E4'), {}, '/nowhere')[1]!.fields.find((f) => f.name === 'netIface')!;
      expect(iface.validate!('vmtap9', {networkType: 'tap'})).toMatchObject({ok: false, message: 'there is no network interface vmtap9 on this host', fix: expect.stringMatching(/tap interfaces here: tap7, vmtap0$/)});
      expect(iface.validate!('vmtap0', {networkType: 'tap'})).toEqual({ok: true});
    } finally {
      if (saved === undefined) delete process.env.TDX_WIZARD_SYS_ROOT;
      else process.env.TDX_WIZARD_SYS_ROOT = saved;
    }
  });

  it('~ is the home directory in every path field, and the resolved path is shown under the field', () => {
    const home = join(tmp.path, 'home');
    mkdirSync(home, {recursive: true});
    writeFileSync(join(home, 'c.qcow2'), '');
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const cache = launchPages(era('E4'), {}, '/nowhere')[0]!.fields.find((f) => f.name === 'volume:cache')!;
      expect(cache.validate!('~/c.qcow2', {})).toEqual({ok: true});
      expect(typeof cache.hint === 'function' && cache.hint('~/c.qcow2')).toBe(`that is ${join(home, 'c.qcow2')}`);
      expect(typeof cache.hint === 'function' && cache.hint(join(home, 'c.qcow2'))).toBe('labelled "tdx-cache"');
    } finally {
      process.env.HOME = saved;
    }
  });

  it('the launcher field: a missing file gets a real fix, a launcher of another era is named as such', () => {
    const launcher = launchPages(era('E4'), {}, '/nowhere')[0]!.fields.find((f) => f.name === 'launcher')!;
    const missing = launcher.validate!(join(tmp.path, 'nothing-here', 'run-td'), {});
    expect(missing).toMatchObject({ok: false, message: expect.stringMatching(/^there is no file at /), fix: expect.stringMatching(/upstream run-td of E4/)});
    expect(JSON.stringify(missing)).not.toMatch(/apt-get|--launcher/);
    const e3 = join(tmp.path, 'e3', 'run-td');
    mkdirSync(join(tmp.path, 'e3'), {recursive: true});
    writeFileSync(e3, '#!/usr/bin/env python3\nparser.add_argument("--containerd-volume")\n', {mode: 0o755});
    expect(launcher.validate!(e3, {})).toMatchObject({ok: false, message: expect.stringMatching(/is a launcher of E3b .*not of E4/)});
    mkdirSync(join(tmp.path, 'other'), {recursive: true});
    const plain = join(tmp.path, 'other', 'not-a-launcher');
    writeFileSync(plain, '#!/bin/sh\necho hello\n', {mode: 0o755});
    expect(launcher.validate!(plain, {})).toMatchObject({ok: false, message: expect.stringMatching(/not recognised as the E4 launcher/)});
  });
});

describe('the review', () => {
  it('E1: the seed masked in the command, the exposure note said', async () => {
    const r = await reviewLaunch(join(tmp.path, 'run-tdx.sh'), era('E1'), {cacheVolume: join(tmp.path, 'c.qcow2'), hostname: 'h', minerSs58: 'x', minerSeed: SEED, networkType: 'user', extra: []}, '/sys', runner());
    expect(r.command).toContain('--miner-seed ');
    expect(r.command).not.toContain(SEED);
    expect(r.exposure).toMatch(/exposes the miner seed/);
    expect(r.seedNote).toBeUndefined();
    expect(r.problems.map((p) => p.text).join('\n')).toMatch(/c\.qcow2/); // the volume is not there: refused before Launch
  });

  it('run-td: the command from its directory, no exposure, the seed said to be in the config volume, a missing firmware refused', async () => {
    const launcher = join(tmp.path, 'host-tools/scripts/run-td');
    const volumes = {cache: join(tmp.path, 'c.qcow2'), storage: join(tmp.path, 's.qcow2'), config: join(tmp.path, 'k.qcow2')};
    const r = await reviewLaunch(launcher, era('E4'), {cacheVolume: volumes.cache, volumes, image: '/i.qcow2', networkType: 'user', extra: []}, '/sys', runner());
    expect(r.command).toBe(`cd ${join(tmp.path, 'host-tools/scripts')} && python3 ./run-td --pass-gpus --image /i.qcow2 --config-volume ${volumes.config} --network-type user --cache-volume ${volumes.cache} --storage-volume ${volumes.storage}`);
    expect(r.exposure).toBeUndefined();
    expect(r.seedNote).toMatch(/on no command line: the guest reads it from the config volume k\.qcow2/);
    expect(r.problems.map((p) => p.text).join('\n')).toMatch(/firmware\/TDVF\.fd/);
    expect(r.volumes.map((v) => v.note)).toEqual([`${volumes.cache} does not exist`, `${volumes.storage} does not exist`, `${volumes.config} does not exist`]);
  });
});

describe('E6 (chutes-cvm): the form asks for the miner (it rebuilds the config volume), the review shows where the seed goes', () => {
  it('the miner on the first page, the seed masked; the image is the image set\'s directory', () => {
    expect(names('E6')).toEqual([
      ['launcher', 'volume:cache', 'volume:storage', 'volume:config', 'hostname', 'minerSs58', 'minerSeed'],
      ['networkType', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image'],
    ]);
    const image = launchPages(era('E6'), {}, '/nowhere')[1]!.fields.find((f) => f.name === 'image')!;
    expect(image.label).toBe('Guest image set');
    expect(image.validate!(tmp.path, {})).toEqual({ok: true});
    const file = join(tmp.path, 'tdx-guest.qcow2');
    writeFileSync(file, 'x');
    expect(image.validate!(file, {})).toMatchObject({ok: false, message: expect.stringMatching(/is a file; chutes-cvm takes the image set's directory/)});
  });

  it('the launcher: the one remembered, else chutes-cvm as installed on PATH (the form and its check agree on it)', () => {
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin, {recursive: true});
    writeFileSync(join(bin, 'chutes-cvm'), '#!/bin/sh\n', {mode: 0o755});
    const old = process.env.PATH;
    process.env.PATH = `${bin}:${old}`;
    try {
      const launcher = (s = {}) => launchPages(era('E6'), s, '/nowhere')[0]!.fields.find((f) => f.name === 'launcher')!;
      expect(launcher().initial).toBe(join(bin, 'chutes-cvm'));
      expect(launcher().validate!(launcher().initial!, {})).toEqual({ok: true});
      expect(launcher({launcherPath: '/opt/cvm/chutes-cvm'}).initial).toBe('/opt/cvm/chutes-cvm');
      // An era whose launcher lives in its checkout is not looked for on PATH.
      expect(launchPages(era('E4'), {}, '/nowhere')[0]!.fields[0]!.initial).toBe('/nowhere/run-tdx.sh');
    } finally {
      process.env.PATH = old;
    }
  });

  it('the seed: read from the file given for the config volume in this setup (masked); asked when that file cannot be read', () => {
    const file = join(tmp.path, 'miner.seed');
    writeFileSync(file, `${SEED}\n`, {mode: 0o600});
    const seed = (seedFile?: string) => launchPages(era('E6'), {}, '/nowhere', {seedFile})[0]!.fields.find((f) => f.name === 'minerSeed')!;
    expect(seed(file)).toMatchObject({secret: true, initial: SEED, hint: `read from ${file}, given for the config volume; never shown, never stored`});
    expect(seed(join(tmp.path, 'gone.seed')).initial).toBeUndefined();
    expect(seed().hint).toBe('64 hex characters; never shown, never stored');
  });

  it('the review: the seed by its variable, masked, the exposure said, the image set checked', async () => {
    const volumes = {cache: join(tmp.path, 'cache-h.raw'), storage: join(tmp.path, 'storage-h.raw'), config: join(tmp.path, 'config-h.qcow2')};
    const fields = {cacheVolume: volumes.cache, volumes, hostname: 'h', minerSs58: 'x', minerSeed: SEED, image: join(tmp.path, 'no-set'), networkType: 'tap' as const, extra: []};
    const r = await reviewLaunch('/usr/local/bin/chutes-cvm', era('E6'), fields, '/sys', runner());
    expect(r.command).toMatch(/^CHUTES_CVM_MINER__SEED=\S+ \/usr\/local\/bin\/chutes-cvm guest launch --hostname h --base-image /);
    expect(r.command).not.toContain(SEED);
    expect(r.exposure).toMatch(/on sudo's command line/);
    expect(r.seedNote).toBeUndefined();
    expect(r.problems.map((p) => p.text).join('\n')).toMatch(/the guest image set .*no-set does not exist/);
  });
});
