// E6: `chutes-cvm guest launch`, run by the wizard (dist/cli.js) as an operator would, against the
// stand-in chutes-cvm of test/fixtures/cvm-bin (written from rayonlabs/sek8s 3a1a37cd; its header
// says what it does and does not do) and the stand-in QEMU of test/fixtures/run-td-bin, both first on
// the PATH. chutes-cvm hard-codes /tmp/tdx-td-pid.pid and /tmp/tdx-guest-td.log, so everything runs
// in one mount namespace with a private /tmp (test/helpers/private-tmp.ts); the tests run in order.
// While the wizard runs, every /proc/*/cmdline is polled for the seed (test/helpers/ns-cli.ts).
import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join, relative, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {processAlive} from '../src/vm/pid.js';
import {CLI} from './helpers/cli.js';
import {configVolume, VALID_SS58} from './helpers/guest-volumes.js';
import {closeNs, jsonResult, nsCli, nsPid} from './helpers/ns-cli.js';
import {privateTmp, type PrivateTmp} from './helpers/private-tmp.js';
import {requireTools, sh} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';

// Not the seed of any other test: a hit while polling /proc can only come from this test.
const SEED = '3c5e7a9b1d2f4e6a8c0b1d3f5a7c9e2b4d6f8a0c2e4b6d8f1a3c5e7b9d0f2a4c';

let root: string;
let ns: PrivateTmp;
let env: NodeJS.ProcessEnv;
const bin = () => join(root, 'bin');
const cvm = () => join(bin(), 'chutes-cvm');
const vol = (name: string) => join(root, 'volumes', name);
const imageSet = () => join(root, 'tdx-guest');
const sys = () => join(root, 'sys');
const recorded = (name: string) => readFileSync(join(bin(), name), 'utf8');
const cvmArgv = () => recorded('cvm-argv').split('\0').slice(0, -1);
const qemuArgv = () => recorded('qemu-argv').split('\0').slice(0, -1);
const setTdx = (value: string) => writeFileSync(join(sys(), 'module/kvm_intel/parameters/tdx'), `${value}\n`);

beforeAll(async () => {
  requireTools('qemu-img', 'mkfs.ext4', 'setsid', 'pgrep', 'sha256sum');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync('/var/tmp/tdxw-cvm-'); // not /tmp: that is private in the namespace
  ns = await privateTmp();
  cpSync(resolve('test/fixtures/run-td-bin'), bin(), {recursive: true, verbatimSymlinks: true});
  cpSync(resolve('test/fixtures/cvm-bin'), bin(), {recursive: true});
  mkdirSync(join(bin(), 'scripts/volumes'), {recursive: true}); // the package's scripts directory
  mkdirSync(join(root, 'firmware'));
  writeFileSync(join(root, 'firmware/OVMF.inteltdx.fd'), 'stand-in firmware\n');
  // The image set as chutes-cvm image download leaves it.
  mkdirSync(imageSet());
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(imageSet(), 'tdx-guest-debug.qcow2'), '1G']);
  writeFileSync(join(imageSet(), 'tdx-guest-debug.vmlinuz'), 'kernel\n');
  writeFileSync(join(imageSet(), 'tdx-guest-debug.initrd'), 'initrd\n');
  writeFileSync(join(imageSet(), 'tdx-guest-debug.cmdline'), 'console=ttyS0 root=/dev/vda1\n');
  const artifacts = Object.fromEntries(['qcow2', 'vmlinuz', 'initrd', 'cmdline'].map((r) => [r, {sha256: '0'.repeat(64), size: statSync(join(imageSet(), `tdx-guest-debug.${r}`)).size}]));
  writeFileSync(join(imageSet(), 'manifest.json'), JSON.stringify({version: '1.4.0', debug: true, artifacts}));
  mkdirSync(join(root, 'volumes'));
  makeVolume(join(root, 'volumes'), 'cache-h.raw', {fs: 'ext4', label: 'tdx-cache', size: '64M', format: 'raw'});
  makeVolume(join(root, 'volumes'), 'storage-h.raw', {fs: 'ext4', label: 'storage', size: '64M', format: 'raw'});
  configVolume(join(root, 'volumes'), 'config-h.qcow2', {hostname: 'h'});
  // Upstream's config.yaml: chutes-cvm's Step 1 signs its attestation check with the keys in it.
  writeFileSync(join(root, 'config.yaml'), `vm:\n  hostname: "h"\nminer:\n  ss58: "${VALID_SS58}"\n  seed: "${SEED}"\n`, {mode: 0o600});
  mkdirSync(join(sys(), 'module/kvm_intel/parameters'), {recursive: true});
  setTdx('Y');
  env = {
    PATH: `${bin()}:${process.env.PATH}`,
    TDX_WIZARD_STATE_DIR: join(root, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(root, 'config'),
    TDX_WIZARD_SYS_ROOT: sys(),
    CVM_STANDIN_SYS: sys(),
    CHUTES_CVM_FIRMWARE_DIR: join(root, 'firmware'),
    CHUTES_CVM_CONFIG: join(root, 'config.yaml'),
    // The seed as an operator gives it: the wizard's variable, read once and dropped.
    TDX_MINER_SEED: SEED,
    TDX_WIZARD_PID_FILE: '',
    TDX_WIZARD_SERIAL_LOG: '',
  };
}, 120_000);

afterAll(() => closeNs(ns, root));

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => nsCli(ns, {...env, ...extra}, SEED, args);
// Volume paths as an operator types them, relative to where the wizard runs.
const rel = (path: string) => relative(process.cwd(), path);
const LAUNCH = () => [
  'launch', '--launcher', cvm(), '--hostname', 'h', '--miner-ss58', VALID_SS58, '--image', rel(imageSet()),
  '--cache-volume', rel(vol('cache-h.raw')), '--storage-volume', rel(vol('storage-h.raw')), '--config-volume', rel(vol('config-h.qcow2')),
];
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.sequential('chutes-cvm guest launch (E6), run by the wizard', () => {
  let pid: number;

  it('launch: the seed only in chutes-cvm\'s environment, every path absolute, the VM confirmed by its pid file, /proc and its first serial lines', async () => {
    const out = await cli(['--json', ...LAUNCH()]);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    const r = jsonResult(out);
    expect(r).toMatchObject({ok: true, era: 'E6'});
    expect(r.argv).toEqual([
      cvm(), 'guest', 'launch', '--hostname', 'h', '--base-image', imageSet(), '--miner-ss58', VALID_SS58,
      '--cache-volume', vol('cache-h.raw'), '--storage-volume', vol('storage-h.raw'), '--config-volume', vol('config-h.qcow2'), '--network-type', 'tap',
    ]);
    expect(cvmArgv()).toEqual((r.argv as string[]).slice(3));
    // The seed: on no command line while the wizard and chutes-cvm ran, in chutes-cvm's environment only.
    expect(out.seedSeen).toEqual([]);
    expect(recorded('cvm-seed').trim()).toBe(`env ${sha(SEED)}`);
    // chutes-cvm starts QEMU with its own environment, the variable included (root-only /proc/PID/environ): the note says so.
    expect(recorded('qemu-env').split('\0')).toContain(`CHUTES_CVM_MINER__SEED=${SEED}`);
    // chutes-cvm prints the sudo line that carries the seed: the wizard masks it.
    expect(out.stdout + out.stderr).not.toContain(SEED);
    expect(recorded('cvm-sudo')).toContain(`MINER_SEED=<seed> VM_IP=192.168.100.2 VM_GATEWAY=192.168.100.1 VM_DNS=8.8.8.8 DOCKER_HUB_USER= DOCKER_HUB_TOKEN= ${join(bin(), 'scripts/volumes/create-config.sh')} ${vol('config-h.qcow2')}`);
    // Said once, before launching: chutes-cvm itself puts the seed on sudo's command line.
    const warnings = out.stdout.split('\n').filter((l) => l.includes('sudo\'s command line'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/QEMU inherits that environment/);
    // QEMU got every volume by its absolute path, with the format its name says.
    const drives = qemuArgv().filter((_, i, all) => all[i - 1] === '-drive');
    expect(drives).toEqual([
      `file=${join(imageSet(), 'tdx-guest-debug.qcow2')},if=none,id=virtio-disk0,format=qcow2`,
      `file=${vol('config-h.qcow2')},if=none,id=virtio-config,format=qcow2,readonly=on`,
      `file=${vol('cache-h.raw')},if=none,id=virtio-cache,format=raw`,
      `file=${vol('storage-h.raw')},if=none,id=virtio-storage,format=raw`,
    ]);
    pid = Number(r.pid);
    expect(pid).toBe(nsPid(ns));
    expect(processAlive(pid)).toBe(true);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/qemu-system-x86_64\0.*process=chutes-td/);
    // Judged with the serial log's first line, written by this launch.
    expect(readFileSync(ns.tmp('tdx-guest-td.log'), 'utf8')).toMatch(/stand-in QEMU: TDX guest booting/);
    expect(r.launch).toBe('started');
  });

  it('status leaves the VM alive (chutes-cvm is never asked): the pid file and process=chutes-td', async () => {
    for (let i = 0; i < 2; i++) {
      const s = jsonResult(await cli(['--json', 'status']));
      expect(s).toMatchObject({running: true, pid, era: 'E6'});
      expect((s.evidence as string[]).join('\n')).toMatch(/process=chutes-td/);
    }
    expect(processAlive(pid)).toBe(true);
  });

  it('a second launch is refused while chutes-td runs: by its pid file, and by /proc when the pid file is gone, as chutes-cvm itself refuses', async () => {
    const again = await cli(LAUNCH());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/a VM is already running \(pid \d+/);
    renameSync(ns.tmp('tdx-td-pid.pid'), ns.tmp('aside.pid'));
    try {
      const out = await cli(LAUNCH());
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(new RegExp(`a QEMU named chutes-td already runs \\(pid ${pid}: .*chutes-cvm refuses to launch while it does`));
      expect(out.stderr).toMatch(/fix: tdx-wizard status; tdx-wizard stop/);
      // The stand-in refuses the same way, in chutes-cvm's words (its own check, not the wizard's).
      const own = spawnSync(ns.enter[0]!, [...ns.enter.slice(1), cvm(), 'guest', 'launch', '--hostname', 'h', '--miner-ss58', VALID_SS58, '--base-image', imageSet()], {env: {...process.env, ...env, CHUTES_CVM_MINER__SEED: SEED}, encoding: 'utf8'});
      expect(own.status).toBe(1);
      expect(own.stderr).toMatch(/^Error: a TDX VM \(QEMU, chutes-td\) is already running\.$/m);
    } finally {
      renameSync(ns.tmp('aside.pid'), ns.tmp('tdx-td-pid.pid'));
    }
    expect(processAlive(pid)).toBe(true);
  });

  it('stop: chutes-cvm guest stop --force; the VM and its pid file are gone', async () => {
    const out = await cli(['--json', 'stop', '--yes']);
    expect(out.code, out.stderr).toBe(0);
    expect(jsonResult(out)).toMatchObject({ok: true, stopped: true, pid});
    expect(out.stdout).toContain(`"argv":[${JSON.stringify(cvm())},"guest","stop","--force"]`);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(ns.tmp('tdx-td-pid.pid'))).toBe(false);
    expect(jsonResult(await cli(['--json', 'status']))).toMatchObject({running: false, pidFileState: 'absent'});
  });

  it('QEMU failing: chutes-cvm\'s exit code, QEMU\'s own words and the hint', async () => {
    const out = await cli(LAUNCH(), {FAKE_QEMU_FAIL: '-object {"qom-type":"tdx-guest","id":"tdx"}: Parameter \'qom-type\' does not accept value \'tdx-guest\''});
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/qemu-system-x86_64: -object .*Parameter 'qom-type' does not accept value 'tdx-guest'/);
    expect(out.stderr).toMatch(/Error: QEMU failed \(exit 1\)\./);
    expect(out.stderr).toMatch(/failed: Launch the TDX VM \(chutes-cvm guest launch\) failed \(exit code 1\): This QEMU has no TDX support\n/);
    expect(out.stderr).toMatch(/fix: install the TDX-enabled QEMU/);
    expect(out.seedSeen).toEqual([]);
    expect(out.stdout + out.stderr).not.toContain(SEED);
    expect(nsPid(ns)).toBeUndefined();
  });
});

describe.sequential('what chutes-cvm would refuse or do wrong is refused before it runs (exit 2)', () => {
  const refused = async (args: string[], pattern: RegExp) => {
    rmSync(join(bin(), 'cvm-argv'), {force: true});
    const out = await cli(args);
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toMatch(pattern);
    expect(existsSync(join(bin(), 'cvm-argv'))).toBe(false); // chutes-cvm never ran
    return out;
  };

  it('TDX off as chutes-cvm checks it: the kvm_intel parameter, then /proc/cpuinfo', async () => {
    setTdx('N');
    const proc = join(root, 'proc');
    mkdirSync(proc, {recursive: true});
    writeFileSync(join(proc, 'cpuinfo'), 'processor\t: 0\nflags\t\t: fpu vme de pse\n');
    try {
      rmSync(join(bin(), 'cvm-argv'), {force: true});
      const out = await cli(LAUNCH(), {TDX_WIZARD_PROC_ROOT: proc});
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(/kvm_intel's tdx parameter is N, not Y, and .*proc\/cpuinfo does not name tdx: chutes-cvm stops with "TDX does not appear active"/);
      expect(existsSync(join(bin(), 'cvm-argv'))).toBe(false);
      // A CPU that names tdx passes, as it does for chutes-cvm (which then reads the same file).
      writeFileSync(join(proc, 'cpuinfo'), 'flags\t\t: fpu tdx_host_platform\n');
      const passes = await cli(['--dry-run', ...LAUNCH()], {TDX_WIZARD_PROC_ROOT: proc});
      expect(passes.code, passes.stderr).toBe(0);
    } finally {
      setTdx('Y');
    }
  });

  it('an image set without its manifest or a sidecar', async () => {
    renameSync(join(imageSet(), 'manifest.json'), join(root, 'manifest.json'));
    renameSync(join(imageSet(), 'tdx-guest-debug.initrd'), join(root, 'initrd'));
    try {
      const out = await refused(LAUNCH(), /has no manifest\.json: chutes-cvm refuses an image set it cannot verify/);
      expect(out.stderr).toMatch(/tdx-guest-debug\.initrd is missing: chutes-cvm boots the guest's kernel directly/);
      expect(out.stderr).toMatch(/chutes-cvm image download/);
    } finally {
      renameSync(join(root, 'manifest.json'), join(imageSet(), 'manifest.json'));
      renameSync(join(root, 'initrd'), join(imageSet(), 'tdx-guest-debug.initrd'));
    }
  });

  it('a .qcow2 volume that is not there: chutes-cvm never makes one', async () => {
    const args = LAUNCH();
    args[args.indexOf('--storage-volume') + 1] = vol('storage-h.qcow2');
    const out = await refused(args, /the storage volume .*storage-h\.qcow2 does not exist, and chutes-cvm never makes a \.qcow2 volume/);
    expect(out.stderr).toMatch(/tdx-wizard create .*storage-h\.raw --role storage --era E6/);
  });

  it('no miner keys in the config file chutes-cvm\'s attestation check signs with (Step 1), unless -- --force', async () => {
    const missing = join(root, 'no-config.yaml');
    rmSync(join(bin(), 'cvm-argv'), {force: true});
    const out = await cli(LAUNCH(), {CHUTES_CVM_CONFIG: missing});
    expect(out.code, out.stderr).toBe(2);
    expect(out.stderr).toContain(`chutes-cvm's Step 1 signs its attestation check with the miner keys of its config file ${missing} ($CHUTES_CVM_CONFIG), and it does not exist: it would refuse to launch`);
    expect(out.stderr).toMatch(/fix: keep upstream's config\.yaml with miner\.ss58 and miner\.seed .* -- --force/);
    expect(existsSync(join(bin(), 'cvm-argv'))).toBe(false);
    // chutes-cvm itself, without that refusal in front of it, stops at the same place (nothing changed yet).
    const own = spawnSync(ns.enter[0]!, [...ns.enter.slice(1), cvm(), 'guest', 'launch', '--hostname', 'h', '--miner-ss58', VALID_SS58, '--base-image', imageSet()], {env: {...process.env, ...env, CHUTES_CVM_CONFIG: missing, CHUTES_CVM_MINER__SEED: SEED}, encoding: 'utf8'});
    expect(own.status).toBe(1);
    expect(own.stderr).toMatch(/Refusing to launch: the VM would boot but fail attestation/);
    expect(own.stdout).not.toMatch(/Step 2/);
    const forced = await cli(['--dry-run', ...LAUNCH(), '--', '--force'], {CHUTES_CVM_CONFIG: missing});
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/--network-type tap --force$/m);
  });

  it('a VM network of the operator\'s own: the gateway goes to chutes-cvm as --bridge-ip GW/24, which it writes to the config volume', async () => {
    const out = await cli(['--json', ...LAUNCH(), '--vm-ip', '10.20.0.5', '--vm-gateway', '10.20.0.1', '--vm-dns', '1.1.1.1']);
    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(jsonResult(out).argv).toEqual(expect.arrayContaining(['--vm-ip', '10.20.0.5', '--bridge-ip', '10.20.0.1/24', '--vm-dns', '1.1.1.1']));
    expect(recorded('cvm-sudo')).toContain('VM_IP=10.20.0.5 VM_GATEWAY=10.20.0.1 VM_DNS=1.1.1.1 ');
    expect((await cli(['--json', 'stop', '--yes'])).code).toBe(0);
    // Without it, chutes-cvm would give the guest its own bridge, 192.168.100.1: a VM that cannot reach its gateway.
    await refused([...LAUNCH(), '--vm-ip', '10.20.0.5'], /--vm-gateway is required for chutes-cvm when the VM's IP 10\.20\.0\.5 is outside its default bridge 192\.168\.100\.1\/24[\s\S]*fix: pass --vm-gateway/);
    await refused([...LAUNCH(), '--vm-ip', '10.20.0.5', '--vm-gateway', '10.30.0.1'], /the gateway 10\.30\.0\.1 is outside the VM's network 10\.20\.0\.0\/24/);
    // A gateway alone is checked against chutes-cvm's own VM address, 192.168.100.2.
    await refused([...LAUNCH(), '--vm-gateway', '10.30.0.1'], /the gateway 10\.30\.0\.1 is outside the VM's network 192\.168\.100\.0\/24[^\n]*\(no --vm-ip: chutes-cvm gives the VM 192\.168\.100\.2\)[\s\S]*fix: pass --vm-ip/);
    // Inside the default bridge, no gateway is needed and none is passed.
    const dry = await cli(['--dry-run', ...LAUNCH(), '--vm-ip', '192.168.100.7']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).not.toContain('--bridge-ip');
  });

  it('chutes-cvm is an installed program: with no --launcher, none remembered and none here, the era\'s launcher is taken from PATH', async () => {
    const fresh = join(root, 'config-fresh');
    const args = LAUNCH();
    args.splice(args.indexOf('--launcher'), 2);
    // The era given: chutes-cvm on PATH is the launcher.
    const given = await cli(['--dry-run', ...args, '--era', 'E6'], {TDX_WIZARD_CONFIG_DIR: fresh});
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toContain(`${cvm()} guest launch --hostname h`);
    // The era remembered: the same.
    mkdirSync(join(root, 'config-e6'), {recursive: true});
    writeFileSync(join(root, 'config-e6/config.json'), JSON.stringify({era: 'E6'}));
    const remembered = await cli(['--dry-run', ...args], {TDX_WIZARD_CONFIG_DIR: join(root, 'config-e6')});
    expect(remembered.code, remembered.stderr).toBe(0);
    expect(remembered.stdout).toContain(`${cvm()} guest launch`);
    // No era: the document's (E4), whose run-td is not installed: refused, saying where it looked and what to pass.
    const none = await cli(['--dry-run', ...args], {TDX_WIZARD_CONFIG_DIR: fresh});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no launcher at \S*\/run-tdx\.sh[\s\S]*fix: pass --launcher with the upstream launcher: chutes-cvm/);
    // E6 given, chutes-cvm nowhere on PATH: said so.
    const missing = await cli(['--dry-run', ...args, '--era', 'E6'], {TDX_WIZARD_CONFIG_DIR: fresh, PATH: process.env.PATH});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no launcher at \S*\/run-tdx\.sh \(nor chutes-cvm on PATH\)/);
  });

  it('no hostname, hotkey or seed: chutes-cvm needs them for the config volume', async () => {
    const args = LAUNCH();
    args.splice(args.indexOf('--hostname'), 2);
    await refused(args, /--hostname is required for chutes-cvm/);
    expect((await cli(LAUNCH(), {TDX_MINER_SEED: ''})).stderr).toMatch(/--miner-seed-file is required for chutes-cvm/);
  });
});
