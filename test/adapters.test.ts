// Each launcher kind's command, built from the launch fields and the era's volume specs (no
// launcher is run here; test/run-td.test.ts runs the real run-td, test/launcher.test.ts run-tdx.sh).
import {describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import type {EraCheckOptions} from '../src/host/era-checks.js';
import {adapterFor} from '../src/vm/adapters/index.js';
import {isQemuNamed} from '../src/vm/adapters/probe.js';
import type {LaunchFields} from '../src/vm/fields.js';

const era = (id: string) => findEra(id)!;
const fields = (volumes: LaunchFields['volumes'], more: Partial<LaunchFields> = {}): LaunchFields => ({cacheVolume: volumes?.cache ?? '', volumes, networkType: 'tap', netIface: 'vmtap0', image: '/g/tdx-guest.qcow2', extra: [], ...more});

describe('the adapter of each era is its launcher kind', () => {
  it.each([['E1', 'run-tdx'], ['E2', 'run-vm'], ['E3a', 'run-td'], ['E3b', 'run-td'], ['E4', 'run-td'], ['E5', 'run-td'], ['E5x', 'run-td'], ['E6', 'chutes-cvm']])('%s: %s', (id, kind) => {
    expect(adapterFor(era(id)).kind).toBe(kind);
  });
});

describe('run-td: python3 ./run-td from its directory, the volume flags from the era', () => {
  const launcher = '/up/host-tools/scripts/run-td';
  it('E4: storage volume; the seed and credentials nowhere', () => {
    const inv = adapterFor(era('E4')).buildInvocation(launcher, fields({cache: '/v/cache.qcow2', storage: '/v/storage.qcow2', config: '/v/config.qcow2'}), era('E4'));
    expect(inv).toEqual({
      cmd: 'python3',
      args: ['./run-td', '--pass-gpus', '--image', '/g/tdx-guest.qcow2', '--config-volume', '/v/config.qcow2', '--network-type', 'tap', '--net-iface', 'vmtap0', '--cache-volume', '/v/cache.qcow2', '--storage-volume', '/v/storage.qcow2'],
      cwd: '/up/host-tools/scripts',
      secrets: [],
      title: 'Launch the TDX VM',
    });
  });
  it('E3b: the same fields give --containerd-volume (the spec\'s flag); the user network takes no interface', () => {
    const inv = adapterFor(era('E3b')).buildInvocation(launcher, fields({cache: '/v/c', containerd: '/v/d', config: '/v/k'}, {networkType: 'user', sshPort: 2200}), era('E3b'));
    expect(inv.args).toEqual(['./run-td', '--pass-gpus', '--image', '/g/tdx-guest.qcow2', '--config-volume', '/v/k', '--network-type', 'user', '--cache-volume', '/v/c', '--containerd-volume', '/v/d', '--ssh-port', '2200']);
  });
  it('stop is run-td --clean from its directory', () => {
    expect(adapterFor(era('E5')).stopInvocation(launcher)).toMatchObject({cmd: 'python3', args: ['./run-td', '--clean'], cwd: '/up/host-tools/scripts'});
  });
});

describe('run-vm.sh (E2)', () => {
  it('./run-vm.sh from its directory, config and cache volumes, vCPUs and memory', () => {
    const inv = adapterFor(era('E2')).buildInvocation('/up/host-tools/scripts/run-vm.sh', fields({cache: '/v/c.qcow2', config: '/v/k.qcow2'}, {vcpus: 8, mem: '64G'}), era('E2'));
    expect(inv).toMatchObject({cmd: './run-vm.sh', cwd: '/up/host-tools/scripts'});
    expect(inv.args).toEqual(['--image', '/g/tdx-guest.qcow2', '--config-volume', '/v/k.qcow2', '--network-type', 'tap', '--net-iface', 'vmtap0', '--cache-volume', '/v/c.qcow2', '--vcpus', '8', '--mem', '64G']);
  });
});

describe('chutes-cvm (E6): the command only', () => {
  const f = fields({cache: '/v/cache-h.raw', storage: '/v/storage-h.raw', config: '/v/config-h.qcow2'}, {hostname: 'miner-01', image: '/var/lib/chutes/base-images/tdx-guest', minerSs58: '5Grw', vmIp: '192.168.100.2', netIface: undefined});
  it('guest launch with the volumes given and no seed', () => {
    const inv = adapterFor(era('E6')).buildInvocation('/usr/local/bin/chutes-cvm', f, era('E6'));
    expect(inv.cmd).toBe('/usr/local/bin/chutes-cvm');
    expect(inv.args).toEqual([
      'guest', 'launch', '--hostname', 'miner-01', '--base-image', '/var/lib/chutes/base-images/tdx-guest', '--miner-ss58', '5Grw', '--vm-ip', '192.168.100.2',
      '--cache-volume', '/v/cache-h.raw', '--storage-volume', '/v/storage-h.raw', '--config-volume', '/v/config-h.qcow2', '--network-type', 'tap',
    ]);
    expect(inv.args.join(' ')).not.toMatch(/seed/);
  });
  it('is refused before launching, saying why and the command to run', () => {
    expect(() => adapterFor(era('E6')).preflight('/usr/local/bin/chutes-cvm', f, era('E6'), {} as EraCheckOptions)).toThrow(/does not run chutes-cvm yet/);
  });
});

describe('which QEMU a pid belongs to (status reads /proc/PID/cmdline, never the launcher)', () => {
  it('process=chutes-td and process=td are told apart', () => {
    const td = ['qemu-system-x86_64', '-name', 'chutes-td,process=chutes-td,debug-threads=on'];
    expect(isQemuNamed(td, 'chutes-td')).toBe(true);
    expect(isQemuNamed(td, 'td')).toBe(false);
    expect(isQemuNamed(['/usr/bin/qemu-system-x86_64', '-name', 'td,process=td,debug-threads=on'], 'td')).toBe(true);
    expect(isQemuNamed(['sleep', '-name', 'chutes-td,process=chutes-td'], 'chutes-td')).toBe(false);
  });
});
