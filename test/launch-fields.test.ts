import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {
  checkLaunchFields,
  validateCacheVolume,
  validateExtraFlags,
  validateGateway,
  validateHostname,
  validateIpv4,
  validateMem,
  validateMinerSeed,
  validateMinerSs58,
  validateNetIface,
  validateNetworkType,
  validateSshPort,
  validateVcpus,
  validateVmIp,
  type FieldResult,
} from '../src/vm/fields.js';
import {launcherArgs} from '../src/vm/launcher.js';
import {encodeSs58} from '../src/vm/ss58.js';
import {tempDir} from './helpers/tools.js';

const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

let tmp: ReturnType<typeof tempDir>;
let sys: string;
let volume: string;
beforeAll(() => {
  tmp = tempDir('tdxw-fields-');
  // A fake /sys: vmnet-1234abcd is a macvtap interface, eth0 is not.
  sys = join(tmp.path, 'sys');
  mkdirSync(join(sys, 'class/net/vmnet-1234abcd/macvtap/tap7'), {recursive: true});
  mkdirSync(join(sys, 'class/net/eth0'), {recursive: true});
  volume = join(tmp.path, 'cache.qcow2');
  writeFileSync(volume, 'x');
});
afterAll(() => tmp.remove());

function good<T>(r: FieldResult<T>): T {
  if (!r.ok) throw new Error(`expected ok: ${r.message}`);
  return r.value;
}
function bad<T>(r: FieldResult<T>): string {
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value)}`);
  expect(r.fix.length).toBeGreaterThan(5);
  return r.message;
}

describe('hostname', () => {
  it.each(['miner-01', 'a', 'x'.repeat(63), '0abc', 'abc9'])('accepts %s', (h) => expect(good(validateHostname(h))).toBe(h));
  it.each([
    ['', /empty/],
    ['x'.repeat(64), /64 characters long; a DNS label has at most 63/],
    ['-miner', /starts or ends with "-"/],
    ['miner-', /starts or ends with "-"/],
    ['miner_01', /"_" at position 6/],
    ['miner.example', /"\." at position 6/],
    ['Miner', /"M" at position 1/],
  ])('refuses %j', (h, why) => expect(bad(validateHostname(h))).toMatch(why));
  it('suggests the lower-case form', () => {
    const r = validateHostname('Miner01');
    expect(r.ok || r.fix).toBe('write it in lower case: miner01');
  });
  it('does not suggest a lower-case form that is still refused', () => {
    const r = validateHostname('Miner_01');
    expect(r.ok || r.fix).toMatch(/^use 1-63 characters/);
  });
});

describe('miner SS58 address', () => {
  it('accepts a Bittensor address, and notes another network', () => {
    expect(validateMinerSs58(SS58)).toEqual({ok: true, value: SS58});
    const polkadot = validateMinerSs58('15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5');
    expect(polkadot).toMatchObject({ok: true, note: expect.stringMatching(/Polkadot address \(prefix 0\); Bittensor addresses use prefix 42/)});
  });
  it('refuses wrong checksums, lengths, characters and networks', () => {
    expect(bad(validateMinerSs58(SS58.replace('Grwva', 'Grwvb')))).toMatch(/checksum/);
    expect(bad(validateMinerSs58(SS58.slice(0, 30)))).toMatch(/wrong length/);
    expect(bad(validateMinerSs58(SS58.replace('G', 'O')))).toMatch(/bad character "O" at position 2/);
    expect(bad(validateMinerSs58(encodeSs58(new Uint8Array(32), 5)))).toMatch(/unknown SS58 prefix 5/);
  });
});

describe('miner seed', () => {
  it('accepts 64 hex characters, and strips 0x saying so', () => {
    expect(validateMinerSeed(SEED)).toEqual({ok: true, value: SEED});
    expect(validateMinerSeed(SEED.toUpperCase())).toEqual({ok: true, value: SEED.toUpperCase()});
    expect(validateMinerSeed(`0x${SEED}\n`)).toEqual({ok: true, value: SEED, note: expect.stringMatching(/removed the "0x"/)});
    expect(validateMinerSeed(`0X${SEED}`)).toMatchObject({ok: true, value: SEED});
  });
  it('refuses wrong lengths and non-hex, never echoing the seed', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['0x', /empty/],
      [SEED.slice(0, 63), /has 63 hex characters; it needs exactly 64/],
      [`${SEED}00`, /has 66 hex characters/],
      [`0x${SEED.slice(2)}`, /has 62 hex characters/],
      [`${SEED.slice(0, 10)}g${SEED.slice(11)}`, /not hex at position 11/],
      [`${SEED.slice(0, 32)} ${SEED.slice(32)}`, /not hex at position 33/],
      ['correct horse battery staple correct horse battery staple abcdef', /not hex/],
    ];
    for (const [input, why] of cases) {
      const r = validateMinerSeed(input);
      expect(r.ok).toBe(false);
      const text = JSON.stringify(r);
      expect(text).toMatch(why);
      for (let i = 0; i + 8 <= input.length; i++) expect(text).not.toContain(input.slice(i, i + 8));
    }
  });
});

describe('network', () => {
  it('network types', () => {
    expect(good(validateNetworkType('macvtap'))).toBe('macvtap');
    expect(good(validateNetworkType(' TAP '))).toBe('tap');
    expect(bad(validateNetworkType('bridge'))).toMatch(/"bridge" is not one of tap, macvtap, user/);
  });
  it('a macvtap interface must exist as <sys>/class/net/<if>/macvtap', () => {
    expect(good(validateNetIface('vmnet-1234abcd', 'macvtap', sys))).toBe('vmnet-1234abcd');
    expect(bad(validateNetIface('eth0', 'macvtap', sys))).toBe('eth0 exists but is not a macvtap interface');
    expect(bad(validateNetIface('vmnet-missing', 'macvtap', sys))).toBe('there is no network interface vmnet-missing');
    expect(good(validateNetIface('tap0', 'tap', sys))).toBe('tap0');
    expect(bad(validateNetIface('a/b', 'tap', sys))).toMatch(/not a valid interface name/);
    expect(bad(validateNetIface('x'.repeat(16), 'tap', sys))).toMatch(/at most 15/);
    expect(bad(validateNetIface('', 'macvtap', sys))).toMatch(/empty; the macvtap network needs one/);
  });
  it.each(['192.168.100.2', '10.0.0.1', '8.8.8.8', '255.255.255.254', '0.0.0.0'])('IPv4 %s', (ip) => expect(good(validateIpv4(ip))).toBe(ip));
  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '1.2.3.4/24', '::1', ''])('not IPv4: %j', (ip) =>
    expect(bad(validateIpv4(ip, 'VM IP'))).toMatch(/is not an IPv4 address/));
  it('the VM IP is a host address of its /24', () => {
    expect(bad(validateVmIp('192.168.100.0'))).toMatch(/network address/);
    expect(bad(validateVmIp('192.168.100.255'))).toMatch(/broadcast address/);
  });
  it('the gateway is in the VM\'s /24 and is not the VM', () => {
    expect(good(validateGateway('192.168.100.1', '192.168.100.2'))).toBe('192.168.100.1');
    expect(bad(validateGateway('192.168.101.1', '192.168.100.2'))).toBe("the gateway 192.168.101.1 is outside the VM's network 192.168.100.0/24, so the VM could not reach it");
    expect(bad(validateGateway('10.0.0.1', '192.168.100.2'))).toMatch(/outside/);
    expect(bad(validateGateway('192.168.100.2', '192.168.100.2'))).toMatch(/VM's own address/);
  });
});

describe('numbers and sizes', () => {
  it('SSH port', () => {
    expect(good(validateSshPort('2222'))).toBe(2222);
    expect(good(validateSshPort('65535'))).toBe(65535);
    for (const p of ['0', '65536', '-1', '22a', '']) expect(bad(validateSshPort(p))).toMatch(/not a whole number from 1 to 65535/);
  });
  it('vCPUs, with the 4x the launcher applies', () => {
    expect(validateVcpus('24')).toEqual({ok: true, value: 24, note: 'the VM gets 96 vCPUs (24 cores x 2 threads x 2 sockets)'});
    expect(bad(validateVcpus('0'))).toMatch(/from 1 to 256/);
  });
  it('memory needs a unit (the launcher gives it to both memfd and -m)', () => {
    expect(good(validateMem('1536G'))).toBe('1536G');
    expect(good(validateMem('512g'))).toBe('512G');
    for (const m of ['1536', '1.5T', '0G', 'G', '1536GB']) expect(bad(validateMem(m))).toMatch(/unit M, G or T/);
  });
  it('paths must name existing files', () => {
    expect(good(validateCacheVolume(volume))).toBe(volume);
    expect(bad(validateCacheVolume(join(tmp.path, 'nope.qcow2')))).toMatch(/does not exist/);
    expect(bad(validateCacheVolume(tmp.path))).toMatch(/not a regular file/);
  });
  it('extra flags pass through, except those that would bypass the wizard', () => {
    expect(good(validateExtraFlags(['--gpu-mmio-mb', '131072', '--cloud-init-meta-data', 'm.yaml']))).toEqual(['--gpu-mmio-mb', '131072', '--cloud-init-meta-data', 'm.yaml']);
    const r = validateExtraFlags(['--miner-seed', SEED]);
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(SEED);
    expect(bad(validateExtraFlags(['--status']))).toMatch(/cannot be passed through/);
    const dup = validateExtraFlags(['--hostname', 'x']);
    expect(dup).toMatchObject({ok: false, message: '--hostname was given as an extra flag', fix: expect.stringMatching(/the wizard's own --hostname option/)});
  });
});

describe('all fields together', () => {
  const base = {cacheVolume: '', hostname: 'miner-01', minerSs58: SS58, minerSeed: SEED, vmIp: '192.168.100.2', vmGateway: '192.168.100.1'};
  it('tap and macvtap need an interface, user does not', () => {
    const input = {...base, cacheVolume: volume};
    expect(checkLaunchFields({...input, networkType: 'tap'}, sys)).toMatchObject({ok: false, errors: [{flag: '--net-iface', message: '--net-iface is required for the tap network'}]});
    expect(checkLaunchFields({...input, networkType: 'macvtap', netIface: 'eth0'}, sys)).toMatchObject({ok: false, errors: [{message: 'eth0 exists but is not a macvtap interface'}]});
    expect(checkLaunchFields({...input, networkType: 'macvtap', netIface: 'vmnet-1234abcd'}, sys)).toMatchObject({ok: true});
    expect(checkLaunchFields({...input, networkType: 'user'}, sys)).toMatchObject({ok: true, value: {networkType: 'user'}});
  });
  it('IP and gateway are required unless a cloud-init network file is passed', () => {
    const r = checkLaunchFields({...base, cacheVolume: volume, networkType: 'user', vmIp: undefined, vmGateway: undefined}, sys);
    expect(r).toMatchObject({ok: false, errors: [{flag: '--vm-ip'}, {flag: '--vm-gateway'}]});
    expect(checkLaunchFields({...base, cacheVolume: volume, networkType: 'user', vmIp: undefined, vmGateway: undefined, extra: ['--cloud-init-network-config', 'n.yaml']}, sys)).toMatchObject({ok: true});
  });
  it('credentials are required unless a cloud-init user-data file is passed; the cache volume always', () => {
    const r = checkLaunchFields({networkType: 'user', vmIp: '10.0.0.2', vmGateway: '10.0.0.1'}, sys);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.flag)).toEqual(['--cache-volume', '--hostname', '--miner-ss58', '--miner-seed-file']);
    const u = checkLaunchFields({networkType: 'user', vmIp: '10.0.0.2', vmGateway: '10.0.0.1', extra: ['--cloud-init-user-data', 'u.yaml']}, sys);
    if (!u.ok) expect(u.errors.map((e) => e.flag)).toEqual(['--cache-volume']);
  });
  it('collects every problem at once, and the notes', () => {
    const r = checkLaunchFields({...base, cacheVolume: volume, networkType: 'user', hostname: 'Bad_Name', vmGateway: '10.1.1.1', sshPort: '99999'}, sys);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.flag)).toEqual(['--hostname', '--vm-gateway', '--ssh-port']);
    const ok = checkLaunchFields({...base, cacheVolume: volume, networkType: 'user', minerSeed: `0x${SEED}`, vcpus: '8'}, sys);
    expect(ok).toMatchObject({ok: true, value: {minerSeed: SEED, vcpus: 8}, notes: [expect.stringMatching(/0x/), expect.stringMatching(/32 vCPUs/)]});
  });
  it('builds the launcher argv from the fields, extra flags last', () => {
    const r = checkLaunchFields({...base, cacheVolume: volume, networkType: 'macvtap', netIface: 'vmnet-1234abcd', vmDns: '1.1.1.1', sshPort: '2200', mem: '64G', vcpus: '4', extra: ['--gpu-mmio-mb', '1024']}, sys);
    if (!r.ok) throw new Error(r.errors[0]!.message);
    expect(launcherArgs(r.value)).toEqual([
      '--network-type', 'macvtap', '--net-iface', 'vmnet-1234abcd', '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1', '--vm-dns', '1.1.1.1',
      '--ssh-port', '2200', '--hostname', 'miner-01', '--miner-ss58', SS58, '--miner-seed', SEED, '--cache-volume', volume, '--vcpus', '4', '--mem', '64G',
      '--gpu-mmio-mb', '1024',
    ]);
  });
});
