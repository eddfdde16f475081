// Each launcher kind's command, built from the launch fields and the era's volume specs (no
// launcher is run here; test/run-td.test.ts runs the real run-td, test/launcher.test.ts run-tdx.sh).
import {resolve} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {StepError} from '../src/errors.js';
import type {RunResult} from '../src/runner/runner.js';
import {HINTS} from '../src/vm/hints.js';
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

describe('chutes-cvm (E6): guest launch, the seed in its environment only', () => {
  const f = fields({cache: '/v/cache-h.raw', storage: '/v/storage-h.raw', config: '/v/config-h.qcow2'}, {hostname: 'miner-01', image: '/var/lib/chutes/base-images/tdx-guest', minerSs58: '5Grw', minerSeed: 'ab'.repeat(32), vmIp: '192.168.100.2', netIface: undefined});
  it('guest launch with the volumes given; the seed as CHUTES_CVM_MINER__SEED, masked, on no argument', () => {
    const inv = adapterFor(era('E6')).buildInvocation('/usr/local/bin/chutes-cvm', f, era('E6'));
    expect(inv.cmd).toBe('/usr/local/bin/chutes-cvm');
    expect(inv.args).toEqual([
      'guest', 'launch', '--hostname', 'miner-01', '--base-image', '/var/lib/chutes/base-images/tdx-guest', '--miner-ss58', '5Grw', '--vm-ip', '192.168.100.2',
      '--cache-volume', '/v/cache-h.raw', '--storage-volume', '/v/storage-h.raw', '--config-volume', '/v/config-h.qcow2', '--network-type', 'tap',
    ]);
    expect(inv.args.join(' ')).not.toContain('ab'.repeat(32));
    expect(inv.env).toEqual({CHUTES_CVM_MINER__SEED: 'ab'.repeat(32)});
    expect(inv.secrets).toEqual(['ab'.repeat(32)]);
    expect(adapterFor(era('E6')).exposure).toMatch(/on sudo's command line/);
  });
  it('without --image, chutes-cvm\'s own default image set is passed (and checked)', () => {
    const inv = adapterFor(era('E6')).buildInvocation('/usr/local/bin/chutes-cvm', {...f, image: undefined}, era('E6'));
    expect(inv.args.slice(4, 6)).toEqual(['--base-image', '/var/lib/chutes/base-images/tdx-guest']);
  });
  it('relative volume paths are made absolute (chutes-cvm would take them from its package directory)', () => {
    const input = {hostname: 'h', minerSs58: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY', minerSeed: 'ab'.repeat(32), volumes: {cache: 'cache-h.raw', config: 'k/config-h.qcow2'}};
    const checked = adapterFor(era('E6')).checkFields(input, '/sys');
    expect(checked.ok && checked.value.volumes).toEqual({cache: resolve('cache-h.raw'), config: resolve('k/config-h.qcow2')});
  });
  it('the deprecated quick-launch.sh shim is refused as the launcher: it forwards to guest launch and cannot stop', async () => {
    const problems = await adapterFor(era('E6')).preflight('/up/host-tools/scripts/quick-launch.sh', f, era('E6'), {} as EraCheckOptions);
    expect(problems).toEqual([expect.objectContaining({text: expect.stringMatching(/is not chutes-cvm/), fix: expect.stringMatching(/--launcher "\$\(command -v chutes-cvm\)"/)})]);
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

describe('every adapter judges its launch with the first serial lines written since it began', () => {
  const launchers: Array<[string, string]> = [['E1', '/up/run-tdx.sh'], ['E2', '/up/run-vm.sh'], ['E4', '/up/run-td'], ['E6', '/usr/local/bin/chutes-cvm']];
  const result = {exitCode: 0, stdout: '', tail: ['Launching QEMU...'], durationMs: 1} as unknown as RunResult;
  // A guest that began to boot and powered itself off before the pid file was read.
  const serial = ['SeaBIOS (version stand-in)', "No device found with label 'storage'", 'Failure: Storage setup failed: No storage device found', '[   12.345678] STORAGE-SETUP-FAILED: No storage device found', '[   13.000000] reboot: Power down'];
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.TDX_WIZARD_PID_FILE;
    process.env.TDX_WIZARD_PID_FILE = '/nonexistent/tdxw-no-such.pid';
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TDX_WIZARD_PID_FILE;
    else process.env.TDX_WIZARD_PID_FILE = saved;
  });
  const confirm = (id: string, launcher: string, lines: string[]) => {
    try {
      return adapterFor(era(id)).confirmLaunch(result, launcher, lines);
    } catch (error) {
      return error as StepError;
    }
  };

  it.each(launchers)('%s: a guest that started and stopped is told by its serial log', (id, launcher) => {
    const got = confirm(id, launcher, serial);
    if (id === 'E1') {
      // run-tdx.sh's guests have always been reported launched; `logs` then says why they stopped.
      expect(got).toMatchObject({running: false, judged: {state: 'stopped', hint: {hint: {id: 'storage-missing'}}}});
      return;
    }
    expect(got).toBeInstanceOf(StepError);
    expect((got as StepError).message).toMatch(/ ended \(exit 0\) but no VM is running: pid file \/nonexistent\/tdxw-no-such\.pid: absent; the VM started and has stopped: The guest found no storage volume \(No device found with label 'storage'\)$/);
    expect((got as StepError).fix).toBe(HINTS.find((h) => h.id === 'storage-missing')!.action);
  });

  it.each(launchers)('%s: nothing in the serial log (QEMU never started) is no launch', (id, launcher) => {
    const got = confirm(id, launcher, []);
    expect(got).toBeInstanceOf(StepError);
    expect((got as StepError).message).toMatch(/no VM runs, and neither the launcher nor QEMU said why$/);
  });
});
