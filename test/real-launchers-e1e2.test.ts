// The REAL upstream launchers of E1 (chutesai 94a2200 host-tools/scripts/launch.sh, copied as
// run-tdx.sh, the name operators give it) and E2 (chutesai a2ba679 host-tools/scripts/run-vm.sh),
// launched, asked about and stopped by the wizard (dist/cli.js) as an operator would, with volumes the
// wizard made (create --force-small, config-volume). Both call QEMU by absolute path
// (/usr/bin/qemu-system-x86_64) and hard-code /tmp paths, so everything runs inside one mount
// namespace (test/helpers/private-tmp.ts) with a private tmpfs on /tmp and, seen only there, the
// stand-in QEMU (test/fixtures/run-td-bin: records argv, cwd and environment, writes the pid file and
// serial log, stays up until SIGTERM) added to /usr/bin and a stand-in E1 firmware
// /usr/share/ovmf/OVMF.fd, both by read-only overlay mounts. The host's /usr is never written.
// Other stand-ins, first on the PATH: lspci (no GPU), sudo/modprobe/dmesg (record any call) and
// cloud-localds (test/fixtures/e1e2-bin: E1's cloud-init ISO; cloud-image-utils is not installed).
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {SEED_EXPOSURE_NOTE} from '../src/vm/launcher.js';
import {processAlive} from '../src/vm/pid.js';
import {CLI, runCli} from './helpers/cli.js';
import {closeNs, jsonResult, nsCli, nsPid} from './helpers/ns-cli.js';
import {privateTmp, type PrivateTmp} from './helpers/private-tmp.js';
import {requireTools, sh} from './helpers/tools.js';

const UPSTREAM = resolve('../shared/upstream');
const E1_DIR = '2025-11_run-tdx_chutesai-94a2200';
const E2_DIR = '2025-11_run-vm_chutesai-a2ba679';
// Not the seed of any other test: a hit while polling /proc can only come from this test.
const SEED = '5e1e2c0ffee0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e';
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

// What the host has at the two paths the namespace adds: unchanged by the tests (checked at the end).
const HOST_PATHS = ['/usr/bin/qemu-system-x86_64', '/usr/share/ovmf/OVMF.fd'];
const hostBefore = HOST_PATHS.map((p) => existsSync(p));
let root: string;
let ns: PrivateTmp;
let env: NodeJS.ProcessEnv;
const bin = () => join(root, 'bin');
const calls = () => (existsSync(join(bin(), 'calls')) ? readFileSync(join(bin(), 'calls'), 'utf8') : '');
const scripts = (era: 'E1' | 'E2') => join(root, era, 'host-tools/scripts');
const vol = (name: string) => join(root, 'volumes', name);
const e1Launcher = () => join(scripts('E1'), 'run-tdx.sh');
const e2Launcher = () => join(scripts('E2'), 'run-vm.sh');

beforeAll(async () => {
  requireTools('qemu-img', 'mkfs.ext4', 'setsid'); // no uuidgen: launch.sh falls back to the time
  if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: the tests need shared/upstream beside the checkout`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync('/var/tmp/tdxw-e1e2-'); // not /tmp: that is private in the namespace
  cpSync(resolve('test/fixtures/run-td-bin'), bin(), {recursive: true, verbatimSymlinks: true});
  cpSync(resolve('test/fixtures/e1e2-bin'), bin(), {recursive: true});
  cpSync(join(UPSTREAM, E1_DIR, 'host-tools/scripts'), scripts('E1'), {recursive: true});
  cpSync(join(UPSTREAM, E2_DIR, 'host-tools/scripts'), scripts('E2'), {recursive: true});
  sh('chmod', ['-R', 'u+w', root]); // upstream's copies are read-only
  sh('mv', [join(scripts('E1'), 'launch.sh'), e1Launcher()]);
  mkdirSync(join(root, 'E2/firmware'));
  writeFileSync(join(root, 'E2/firmware/TDVF.fd'), 'stand-in firmware\n'); // run-vm.sh: ../../firmware/TDVF.fd
  // What the namespace adds to /usr: the stand-in QEMU (a symlink, so it records beside itself in
  // bin/) and E1's firmware path. Overlays read the host's /usr/bin and /usr/share, never write them.
  mkdirSync(join(root, 'usr-bin'));
  symlinkSync(join(bin(), 'qemu-system-x86_64'), join(root, 'usr-bin/qemu-system-x86_64'));
  mkdirSync(join(root, 'usr-share/ovmf'), {recursive: true});
  writeFileSync(join(root, 'usr-share/ovmf/OVMF.fd'), 'stand-in firmware\n');
  ns = await privateTmp(
    `mount -t overlay tdxw-usr-bin -o lowerdir=${root}/usr-bin:/usr/bin /usr/bin && ` +
      `mount -t overlay tdxw-usr-share -o lowerdir=${root}/usr-share:/usr/share /usr/share`,
  );
  // The volumes, made by the wizard as an operator would.
  mkdirSync(join(root, 'volumes'));
  writeFileSync(join(root, 'miner.seed'), `${SEED}\n`, {mode: 0o600});
  const made = (args: string[]) => {
    const r = runCli(args, {env: {TDX_WIZARD_STATE_DIR: join(root, 'state'), TDX_WIZARD_CONFIG_DIR: join(root, 'config')}});
    if (r.code !== 0) throw new Error(`tdx-wizard ${args.join(' ')}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  };
  made(['create', '--force-small', '--era', 'E1', vol('cache-e1.qcow2'), '1G']);
  made(['create', '--force-small', '--era', 'E2', vol('cache-e2.qcow2'), '1G']);
  made(['config-volume', vol('config-e2.qcow2'), '--hostname', 'miner-01', '--miner-ss58', SS58, '--miner-seed-file', join(root, 'miner.seed'), '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1']);
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'tdx-guest.qcow2'), '1G']);
  mkdirSync(join(root, 'sys/class/net/vmtap0'), {recursive: true});
  env = {
    PATH: `${bin()}:${process.env.PATH}`,
    TDX_WIZARD_STATE_DIR: join(root, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(root, 'config'),
    TDX_WIZARD_SYS_ROOT: join(root, 'sys'),
    TDX_WIZARD_PID_FILE: '',
    TDX_WIZARD_SERIAL_LOG: '',
  };
}, 120_000);

afterAll(() => closeNs(ns, root));

const readPid = () => nsPid(ns);
const cli = (args: string[]) => nsCli(ns, env, SEED, args);
const recordedArgv = () => readFileSync(join(bin(), 'qemu-argv'), 'utf8').split('\0').slice(0, -1);
const drives = () => recordedArgv().filter((_, i, all) => all[i - 1] === '-drive');
const drive = (file: string) => drives().find((d) => d.startsWith(`file=${file},`));

/** status twice (never stops it), then stop: the VM and its pid file gone. */
function statusAndStop(launcherCmd: RegExp, getPid: () => number) {
  it('status never stops it: running, from the pid file and /proc', async () => {
    const pid = getPid();
    for (let i = 0; i < 2; i++) {
      const out = await cli(['--json', 'status']);
      expect(jsonResult(out), out.stderr).toMatchObject({running: true, pid});
    }
    expect(processAlive(pid)).toBe(true);
    expect(readPid()).toBe(pid);
  });

  it('stop: the launcher\'s --clean; the VM and its pid file are gone', async () => {
    const pid = getPid();
    const out = await cli(['--json', 'stop', '--yes']);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(jsonResult(out)).toMatchObject({ok: true, stopped: true, pid});
    expect(out.stdout).toMatch(launcherCmd);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(ns.tmp('tdx-td-pid.pid'))).toBe(false);
    expect(jsonResult(await cli(['--json', 'status']))).toMatchObject({running: false, pidFileState: 'absent'});
  });
}

describe.sequential('E1: the real launch.sh (as run-tdx.sh), launched, asked and stopped by the wizard', () => {
  let pid = 0;
  it('launch: the seed on the launcher\'s own command line, as upstream does, and the wizard says so', async () => {
    rmSync(join(bin(), 'calls'), {force: true});
    const out = await cli(['--json', 'launch', '--era', 'E1', '--launcher', e1Launcher(), '--image', join(root, 'tdx-guest.qcow2'), '--cache-volume', vol('cache-e1.qcow2'), '--hostname', 'miner-01', '--miner-ss58', SS58, '--miner-seed-file', join(root, 'miner.seed'), '--network-type', 'tap', '--net-iface', 'vmtap0', '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1']);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const r = jsonResult(out);
    expect(r).toMatchObject({ok: true, era: 'E1'});
    pid = Number(r.pid);
    expect(pid).toBe(readPid());
    expect(processAlive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^bash\0\/usr\/bin\/qemu-system-x86_64\0/);
    expect(readFileSync(ns.tmp('tdx-guest-td.log'), 'utf8')).toMatch(/stand-in QEMU: TDX guest booting/);
    // Upstream's E1 takes the seed as --miner-seed VALUE: it was on run-tdx.sh's command line while
    // it ran (and on nothing else), and the wizard said so, plainly, without printing the seed.
    expect(out.seedSeen.length).toBeGreaterThan(0);
    for (const line of out.seedSeen) expect(line).toMatch(/run-tdx\.sh .*--miner-seed 5e1e2c0ffee/);
    expect(out.stdout + out.stderr).toContain(SEED_EXPOSURE_NOTE.slice(0, 60));
    expect(out.stdout + out.stderr).not.toContain(SEED);
    expect(calls()).toMatch(/^cloud-localds --network-config \/tmp\/generated-network-config\.yaml \/tmp\/tdx-cidata\.iso \/tmp\/generated-user-data\.yaml /m);
    expect(calls()).not.toMatch(/^(sudo|modprobe|dmesg) /m);
    // launch.sh removes its clear-text user-data and ISO once QEMU has daemonised.
    for (const f of ['generated-user-data.yaml', 'tdx-cidata.iso']) expect(existsSync(ns.tmp(f))).toBe(false);
  });

  it('QEMU got the cache volume as format=qcow2, the cloud-init ISO read-only, and not the seed', () => {
    expect(drive(vol('cache-e1.qcow2'))).toBe(`file=${vol('cache-e1.qcow2')},if=virtio,cache=none,format=qcow2`);
    expect(drive('/tmp/tdx-cidata.iso')).toBe('file=/tmp/tdx-cidata.iso,if=virtio,format=raw,readonly=on');
    expect(drive(join(root, 'tdx-guest.qcow2'))).toBe(`file=${join(root, 'tdx-guest.qcow2')},if=virtio`);
    const argv = recordedArgv();
    expect(argv[argv.indexOf('-bios') + 1]).toBe('/usr/share/ovmf/OVMF.fd');
    expect(argv.join('\0')).not.toContain(SEED);
    expect(readFileSync(join(bin(), 'qemu-env'), 'utf8')).not.toContain(SEED);
  });

  statusAndStop(/"argv":\["[^"]*\/run-tdx\.sh","--clean"\]/, () => pid);
});

describe.sequential('E2: the real run-vm.sh, launched, asked and stopped by the wizard', () => {
  let pid = 0;
  it('launch: ./run-vm.sh from its own directory, the seed on no command line', async () => {
    rmSync(join(bin(), 'calls'), {force: true});
    const out = await cli(['--json', 'launch', '--era', 'E2', '--launcher', e2Launcher(), '--image', join(root, 'tdx-guest.qcow2'), '--config-volume', vol('config-e2.qcow2'), '--cache-volume', vol('cache-e2.qcow2'), '--net-iface', 'vmtap0']);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const r = jsonResult(out);
    expect(r).toMatchObject({ok: true, era: 'E2', cwd: scripts('E2')});
    expect(r.argv).toEqual(['./run-vm.sh', '--image', join(root, 'tdx-guest.qcow2'), '--config-volume', vol('config-e2.qcow2'), '--network-type', 'tap', '--net-iface', 'vmtap0', '--cache-volume', vol('cache-e2.qcow2')]);
    pid = Number(r.pid);
    expect(pid).toBe(readPid());
    expect(processAlive(pid)).toBe(true);
    expect(out.seedSeen).toEqual([]);
    expect(out.stdout + out.stderr).not.toContain(SEED);
    expect(out.stdout + out.stderr).not.toContain(SEED_EXPOSURE_NOTE.slice(0, 60));
    expect(calls()).not.toMatch(/^(sudo|modprobe|dmesg|cloud-localds) /m);
  });

  it('QEMU got the config volume qcow2 read-only, the cache volume qcow2, the firmware from run-vm.sh\'s directory', () => {
    expect(readFileSync(join(bin(), 'qemu-cwd'), 'utf8').trim()).toBe(scripts('E2'));
    expect(drive(vol('config-e2.qcow2'))).toBe(`file=${vol('config-e2.qcow2')},if=virtio,format=qcow2,readonly=on`);
    expect(drive(vol('cache-e2.qcow2'))).toBe(`file=${vol('cache-e2.qcow2')},if=virtio,cache=none,format=qcow2`);
    const argv = recordedArgv();
    expect(argv[argv.indexOf('-bios') + 1]).toBe('../../firmware/TDVF.fd');
    expect(argv.join('\0')).not.toContain(SEED);
    expect(readFileSync(join(bin(), 'qemu-env'), 'utf8')).not.toContain(SEED);
  });

  statusAndStop(/"argv":\["\.\/run-vm\.sh","--clean"\]/, () => pid);
});

describe('the host', () => {
  it('sees nothing the namespace added: its /usr/bin and /usr/share are as before', () => {
    expect(HOST_PATHS.map((p) => existsSync(p))).toEqual(hostBefore);
  });
});
