// The REAL upstream run-td of E3b (chutesai e9c8032), E4 (kierr 52559611) and E5 (kierr c5a0b61,
// with its chutes_host package), launched, asked about and stopped by the wizard (dist/cli.js) as an
// operator would. Each is copied into a tree laid out as upstream's (host-tools/scripts/run-td,
// firmware/TDVF.fd) under /var/tmp. Stand-ins (test/fixtures/run-td-bin, first on the PATH): a QEMU
// that records its argv and stays up like a daemonised QEMU, lspci and nvidia-gpu-tools that show no
// GPU (so --pass-gpus skips all GPU work), and sudo/virsh/modprobe/udevadm/dmesg that record any call.
// run-td hard-codes /tmp/tdx-td-pid.pid and /tmp/tdx-guest-td.log, so everything runs inside one mount
// namespace with a private tmpfs on /tmp (test/helpers/private-tmp.ts); the tests run in order in it.
import {spawnSync} from 'node:child_process';
import {chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {processAlive} from '../src/vm/pid.js';
import {CLI} from './helpers/cli.js';
import {closeNs, jsonResult, nsCli, nsPid} from './helpers/ns-cli.js';
import {privateTmp, type PrivateTmp} from './helpers/private-tmp.js';
import {requireTools, sh} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';
import {configVolume} from './helpers/guest-volumes.js';

const UPSTREAM = resolve('../shared/upstream');
const ERAS = {
  E3b: {dir: '2026-01_containerd_chutesai-e9c8032', third: ['--containerd-volume', 'containerd', 'containerd-cache']},
  E4: {dir: '2026-02_doc-era_kierr-5255961', third: ['--storage-volume', 'storage', 'storage']},
  E5: {dir: '2026-02_raw_kierr-c5a0b61', third: ['--storage-volume', 'storage', 'storage']},
} as const;
type EraName = keyof typeof ERAS;
// Not the seed of any other test: a hit while polling /proc can only come from this test.
const SEED = '9a7c0b1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3';

let root: string;
let ns: PrivateTmp;
let env: NodeJS.ProcessEnv;
const bin = () => join(root, 'bin');
const calls = () => (existsSync(join(bin(), 'calls')) ? readFileSync(join(bin(), 'calls'), 'utf8') : '');
const scripts = (era: EraName) => join(root, era, 'host-tools/scripts');

beforeAll(async () => {
  requireTools('qemu-img', 'python3', 'setsid');
  if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: the tests need shared/upstream beside the checkout`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync('/var/tmp/tdxw-run-td-'); // not /tmp: that is private in the namespace
  ns = await privateTmp();
  cpSync(resolve('test/fixtures/run-td-bin'), bin(), {recursive: true, verbatimSymlinks: true});
  for (const [era, {dir}] of Object.entries(ERAS)) {
    cpSync(join(UPSTREAM, dir, 'host-tools/scripts'), scripts(era as EraName), {recursive: true});
    sh('chmod', ['-R', 'u+w', join(root, era)]); // upstream's copies are read-only; python writes __pycache__
    mkdirSync(join(root, era, 'firmware'));
    writeFileSync(join(root, era, 'firmware/TDVF.fd'), 'stand-in firmware\n');
  }
  const vols = join(root, 'volumes');
  mkdirSync(vols);
  const v = (name: string, label: string, format: 'qcow2' | 'raw' = 'qcow2') => makeVolume(vols, name, {fs: 'ext4', label, size: '64M', format});
  v('cache-h.qcow2', 'tdx-cache');
  v('storage-h.qcow2', 'storage');
  v('containerd-h.qcow2', 'containerd-cache');
  v('cache-h.raw', 'tdx-cache', 'raw');
  v('storage-h.raw', 'storage', 'raw');
  // The config volume holds the seed in clear, as upstream's create-config.sh writes it.
  configVolume(vols, 'config-h.qcow2', {seed: SEED});
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'tdx-guest.qcow2'), '1G']);
  const sys = join(root, 'sys');
  mkdirSync(join(sys, 'class/net/vmtap0'), {recursive: true});
  env = {
    PATH: `${bin()}:${process.env.PATH}`,
    TDX_WIZARD_STATE_DIR: join(root, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(root, 'config'),
    TDX_WIZARD_SYS_ROOT: sys,
    // Given to the wizard to prove it hands it to nothing it runs: run-td takes no credentials.
    TDX_MINER_SEED: SEED,
    TDX_WIZARD_PID_FILE: '',
    TDX_WIZARD_SERIAL_LOG: '',
  };
}, 120_000);

afterAll(() => closeNs(ns, root));

const vol = (name: string) => join(root, 'volumes', name);
const readPid = () => nsPid(ns);

/** The CLI inside the namespace, its /proc/*\/cmdline polled for the seed while it runs. */
const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) => nsCli(ns, {...env, ...extra}, SEED, args);
const result = jsonResult;
const recordedArgv = () => readFileSync(join(bin(), 'qemu-argv'), 'utf8').split('\0').slice(0, -1);
const drives = () => recordedArgv().filter((_, i, all) => all[i - 1] === '-drive');

function launchArgs(era: EraName, cache: string, third: string): string[] {
  const [flag] = ERAS[era].third;
  return ['launch', '--launcher', join(scripts(era), 'run-td'), '--image', join(root, 'tdx-guest.qcow2'), '--config-volume', vol('config-h.qcow2'), '--cache-volume', vol(cache), flag, vol(third), '--net-iface', 'vmtap0'];
}

const cases: Array<[EraName, string, string, string, string]> = [
  // era, cache file, third volume file, the format each is passed with
  ['E3b', 'cache-h.qcow2', 'containerd-h.qcow2', 'qcow2', 'qcow2'],
  ['E4', 'cache-h.qcow2', 'storage-h.qcow2', 'qcow2', 'qcow2'],
  ['E5', 'cache-h.raw', 'storage-h.qcow2', 'raw', 'qcow2'],
];

describe.sequential('the real run-td, launched, asked and stopped by the wizard', () => {
  for (const [era, cache, third, cacheFormat, thirdFormat] of cases) {
    describe.sequential(era, () => {
      let pid: number;
      it('launch: python3 ./run-td from its own directory, the VM judged by its pid file and /proc', async () => {
        rmSync(join(bin(), 'calls'), {force: true});
        const out = await cli(['--json', ...launchArgs(era, cache, third)]);
        expect(out.code, out.stderr + out.stdout).toBe(0);
        const r = result(out);
        expect(r).toMatchObject({ok: true, era, cwd: scripts(era), verdict: null});
        expect(r.argv).toEqual(['python3', './run-td', '--pass-gpus', '--image', join(root, 'tdx-guest.qcow2'), '--config-volume', vol('config-h.qcow2'), '--network-type', 'tap', '--net-iface', 'vmtap0', '--cache-volume', vol(cache), ERAS[era].third[0], vol(third)]);
        pid = Number(r.pid);
        expect(pid).toBe(readPid());
        expect(processAlive(pid)).toBe(true);
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/qemu-system-x86_64\0.*process=chutes-td/);
        expect(readFileSync(ns.tmp('tdx-guest-td.log'), 'utf8')).toMatch(/stand-in QEMU: TDX guest booting/);
        // The seed: on no command line while it ran, in no environment QEMU got, and run-td needed no sudo.
        expect(out.seedSeen).toEqual([]);
        expect(readFileSync(join(bin(), 'qemu-env'), 'utf8')).not.toContain(SEED);
        expect(out.stdout + out.stderr).not.toContain(SEED);
        expect(calls()).not.toMatch(/^(sudo|virsh|modprobe|udevadm|dmesg) /m);
        expect(calls()).toMatch(/^lspci -Dnn?$/m); // GPU detection ran, and found none
      });

      it('QEMU got every volume with the right format, the config volume read-only, the firmware found from run-td\'s directory', () => {
        const argv = recordedArgv();
        expect(readFileSync(join(bin(), 'qemu-cwd'), 'utf8').trim()).toBe(scripts(era));
        const bios = argv[argv.indexOf('-bios') + 1]!;
        expect(existsSync(resolve(scripts(era), bios))).toBe(true);
        if (era !== 'E5') expect(bios).toBe('../../firmware/TDVF.fd'); // relative to the working directory
        const d = drives();
        expect(d.find((x) => x.startsWith(`file=${vol('config-h.qcow2')},`))).toMatch(/,format=qcow2,readonly=on(,|$)/);
        expect(d.find((x) => x.startsWith(`file=${vol(cache)},`))).toMatch(new RegExp(`,format=${cacheFormat}(,|$)`));
        expect(d.find((x) => x.startsWith(`file=${vol(third)},`))).toMatch(new RegExp(`,format=${thirdFormat}(,|$)`));
        expect(argv.join('\0')).not.toContain(SEED);
      });

      it('status never stops it (run-td is never called): running, from the pid file and its QEMU command line', async () => {
        for (let i = 0; i < 2; i++) {
          const s = result(await cli(['--json', 'status']));
          expect(s).toMatchObject({running: true, pid, era});
          expect((s.evidence as string[]).join('\n')).toMatch(/process=chutes-td/);
        }
        expect(processAlive(pid)).toBe(true);
        expect(readPid()).toBe(pid);
      });

      it('stop: run-td --clean from its directory; the VM and its pid file are gone', async () => {
        const out = await cli(['--json', 'stop', '--yes']);
        expect(out.code, out.stderr).toBe(0);
        expect(result(out)).toMatchObject({ok: true, stopped: true, pid});
        expect(out.stdout).toMatch(/"argv":\["python3","\.\/run-td","--clean"\]/);
        expect(processAlive(pid)).toBe(false);
        expect(existsSync(ns.tmp('tdx-td-pid.pid'))).toBe(false);
        expect(result(await cli(['--json', 'status']))).toMatchObject({running: false, pidFileState: 'absent'});
      });
    });
  }
});

describe.sequential('launchers and volume sets from different eras', () => {
  it('E4\'s run-td takes --storage-volume (above); E3b\'s own argparse refuses it', () => {
    const r = spawnSync(ns.enter[0]!, [...ns.enter.slice(1), 'bash', '-c', 'cd "$1" && python3 ./run-td --image x --storage-volume "$2"', '-', scripts('E3b'), vol('storage-h.qcow2')], {env: {...process.env, ...env}, encoding: 'utf8'});
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/run-td: error: unrecognized arguments: --storage-volume/);
  });

  it('the wizard refuses that before running anything: E3b has no storage volume', async () => {
    const args = launchArgs('E3b', 'cache-h.qcow2', 'containerd-h.qcow2');
    args.splice(args.indexOf('--containerd-volume'), 2, '--storage-volume', vol('storage-h.qcow2'));
    const out = await cli(args);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/--storage-volume: the E3b guest .* has no storage volume; it reads cache, containerd and config/);
    expect(out.stderr).toMatch(/fix: .*a storage volume belongs to E4, E5, E5x, E6: use a launcher of that era/);
    expect(out.stderr).not.toMatch(/^\$ /m);
  });

  it('an E4 run-td given raw volumes is refused: it passes them as qcow2 and QEMU would not start', async () => {
    const out = await cli(launchArgs('E4', 'cache-h.raw', 'storage-h.raw'));
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/is a raw file, but the E4 launcher passes the cache volume with format=qcow2/);
    expect(out.stderr).toMatch(/is a raw file, but the E4 launcher passes the storage volume with format=qcow2/);
    expect(out.stderr).not.toMatch(/^\$ /m);
  });

  it('a missing volume the era needs, a flag it has no use for, and --era against the launcher\'s own', async () => {
    const noStorage = launchArgs('E4', 'cache-h.qcow2', 'storage-h.qcow2').slice(0, -4);
    const missing = await cli([...noStorage, '--net-iface', 'vmtap0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/the E4 guest needs its storage volume \("storage"\) and powers off without it\n\s+fix: pass --storage-volume PATH/);
    const seedFlag = await cli([...launchArgs('E4', 'cache-h.qcow2', 'storage-h.qcow2'), '--hostname', 'h', '--miner-seed-file', vol('config-h.qcow2')]);
    expect(seedFlag.code).toBe(2);
    expect(seedFlag.stderr).toMatch(/--hostname, --miner-seed-file: no use with the E4 launcher: run-td takes no credentials/);
    const wrongEra = await cli([...launchArgs('E4', 'cache-h.qcow2', 'storage-h.qcow2'), '--era', 'E3b']);
    expect(wrongEra.code).toBe(2);
    expect(wrongEra.stderr).toMatch(/is a launcher of E4 \(run-td has "--storage-volume"/);
  });

  it('QEMU failing under run-td (which still exits 0) is a failed launch that shows what QEMU printed', async () => {
    const out = await cli(launchArgs('E4', 'cache-h.qcow2', 'storage-h.qcow2'), {FAKE_QEMU_FAIL: 'failed to initialize kvm: TDX is not supported'});
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/qemu-system-x86_64: failed to initialize kvm: TDX is not supported/);
    expect(out.stderr).toMatch(/run-td ended \(exit 0\) but no VM is running: pid file \/tmp\/tdx-td-pid\.pid: absent/);
    expect(readPid()).toBeUndefined();
  });
});
