// launch / status / stop / logs against the stand-in launcher (test/fixtures/run-tdx.sh), run as
// an operator would: a bundled CLI in a child process, every wizard path in temporary directories.
// The bundle's cache-volume check is a stand-in that returns the verdict in TDXW_TEST_VERDICT; one
// test at the end uses the real verifyVolume on real volumes.
import {spawn, spawnSync} from 'node:child_process';
import {appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {build} from 'esbuild';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {findByPidFileArg, launchVm, processAlive, readPidFile} from '../src/vm/launcher.js';
import type {LaunchFields} from '../src/vm/fields.js';
import {requireTools, sh, tempDir, toolPath} from './helpers/tools.js';
import {makeVolume, setCorruptBit} from './helpers/volumes.js';

const LAUNCHER = resolve('test/fixtures/run-tdx.sh');
const SEED = '4f1c2a9e8b7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3f2e1d0c9';
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const BUILD_DIR = resolve('node_modules/.cache/tdx-wizard-vm-test');
const CLI = join(BUILD_DIR, 'cli.mjs');

let tmp: ReturnType<typeof tempDir>;
let run: string; // where the "VM" keeps its pid file, serial log and the launcher's temp files
let env: NodeJS.ProcessEnv;
let volume: string;
let image: string;
let seedFile: string;
const printed: string[] = []; // everything the wizard printed, checked for the seed at the end

beforeAll(async () => {
  requireTools('qemu-img');
  for (const [tool, pkg] of [['bash', 'bash'], ['ps', 'procps'], ['awk', 'mawk'], ['grep', 'grep'], ['tail', 'coreutils']]) need(tool!, pkg!);
  await buildCli();
  tmp = tempDir('tdxw-launch-');
  run = join(tmp.path, 'run');
  mkdirSync(run);
  const sys = join(tmp.path, 'sys');
  mkdirSync(join(sys, 'class/net/vmnet-1234abcd/macvtap/tap7'), {recursive: true});
  env = {
    TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'),
    TDX_WIZARD_PID_FILE: join(run, 'tdx-td-pid.pid'),
    TDX_WIZARD_SERIAL_LOG: join(run, 'tdx-guest-td.log'),
    TDX_WIZARD_SYS_ROOT: sys,
    FAKE_TDX_SYS: sys,
    FAKE_TDX_TMP: run,
    FAKE_TDX_STEP: '0.01',
    TDX_MINER_SEED: '',
    CI: 'true',
  };
  volume = join(tmp.path, 'cache-volume.qcow2');
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '1G']);
  image = join(tmp.path, 'tdx-guest.qcow2');
  writeFileSync(image, '');
  seedFile = join(tmp.path, 'miner-seed');
  writeFileSync(seedFile, `${SEED}\n`, {mode: 0o600});
});

afterAll(async () => {
  await killVm();
  tmp?.remove();
});

/** The stand-in launcher's own tools; PACKAGE_OF does not list them. */
function need(tool: string, pkg: string): void {
  try {
    toolPath(tool);
  } catch {
    throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
  }
}

/** Bundles src/commands/{launch,status,stop,logs} into a CLI whose volume check is a test double. */
async function buildCli(): Promise<void> {
  mkdirSync(BUILD_DIR, {recursive: true});
  const stub = join(BUILD_DIR, 'verify-stub.mjs');
  writeFileSync(stub, `export async function verifyVolume(path) {
  const given = process.env.TDXW_TEST_VERDICT ? JSON.parse(process.env.TDXW_TEST_VERDICT) : {};
  return {path, verdict: 'ready', accepted: true, reason: 'test verdict', ...given};
}\n`);
  const src = resolve('src');
  const entry = join(BUILD_DIR, 'entry.ts');
  writeFileSync(entry, `import {Command, CommanderError} from 'commander';
import {installSignalHandlers} from '${src}/cleanup.ts';
import {register as launch} from '${src}/commands/launch.ts';
import {register as status} from '${src}/commands/status.ts';
import {register as stop} from '${src}/commands/stop.ts';
import {register as logs} from '${src}/commands/logs.ts';
installSignalHandlers();
const program = new Command('tdx-wizard').option('--json').option('--dry-run').option('--verbose').option('--transcript-format <format>').exitOverride();
launch(program); status(program); stop(program); logs(program);
try { await program.parseAsync(process.argv); } catch (error) {
  process.exitCode = error instanceof CommanderError ? (error.code === 'commander.helpDisplayed' ? 0 : 2) : 1;
  if (!(error instanceof CommanderError)) process.stderr.write(String(error) + '\\n');
}
`);
  await build({
    entryPoints: [entry],
    outfile: CLI,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [{name: 'verify-stub', setup: (b) => b.onResolve({filter: /volume\/verify\.js$/}, () => ({path: stub}))}],
  });
}

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Out {
  const r = spawnSync(process.execPath, [CLI, ...args], {env: {...process.env, ...env, ...extraEnv}, encoding: 'utf8', input: '', timeout: 60_000});
  printed.push(r.stdout, r.stderr);
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

function json(out: Out): Array<Record<string, unknown>> {
  return out.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const LAUNCH = () => [
  'launch', '--launcher', LAUNCHER, '--cache-volume', volume, '--image', image, '--hostname', 'miner-01', '--miner-ss58', SS58,
  '--network-type', 'macvtap', '--net-iface', 'vmnet-1234abcd', '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1',
];

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const serial = () => (existsSync(env.TDX_WIZARD_SERIAL_LOG!) ? readFileSync(env.TDX_WIZARD_SERIAL_LOG!, 'utf8') : '');

async function killVm(): Promise<void> {
  if (!env) return;
  const state = readPidFile(env.TDX_WIZARD_PID_FILE);
  if (state.state !== 'running') return;
  process.kill(state.pid, 'SIGTERM');
  await until('the stand-in VM to end', () => !processAlive(state.pid));
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true, encoding: 'utf8'}).map((p) => join(dir, p)).filter((p) => statSync(p).isFile());
}

describe('launch, status, stop', () => {
  it('launches with the seed from a file, and says once how the launcher exposes the seed', async () => {
    const out = cli([...LAUNCH(), '--miner-seed-file', seedFile]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^VM launched \(pid \d+\)\n {2}serial log: .*tdx-guest-td\.log\nnext: tdx-wizard logs --follow/);
    expect(out.stderr.match(/generated-user-data\.yaml/g)).toHaveLength(1);
    expect(out.stderr).toMatch(/every user of this host can see in ps/);
    expect(out.stderr).toMatch(/\$ .*run-tdx\.sh --network-type macvtap --net-iface vmnet-1234abcd .* --miner-seed '\*{8}' --cache-volume /);
    expect(out.stderr).toMatch(/ok: The VM started/);
    const pid = Number(/pid (\d+)/.exec(out.stdout)![1]);
    expect(readPidFile(env.TDX_WIZARD_PID_FILE)).toEqual({state: 'running', pid});
    // The launcher, not the wizard, left the seed in its cloud-init file, as upstream does.
    expect(readFileSync(join(run, 'generated-user-data.yaml'), 'utf8')).toContain(SEED);
    await until('the guest to accept its volume', () => serial().includes('Verification Complete'));
  });

  it('status: running, with uptime, the last lines and the marker', () => {
    const s = json(cli(['--json', 'status'])).find((e) => e.type === 'result')!;
    expect(s).toMatchObject({running: true, pidFileState: 'running', poweredOff: false, failed: false, marker: {id: 'cache-verify-complete', severity: 'ok'}});
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(s.uptimeSeconds).toBeLessThan(60);
    expect((s.lastLines as string[]).join('\n')).toMatch(/\[ {2}OK {2}\] Mounted var-snap\.mount/);
    const plain = cli(['status']);
    expect(plain.stdout).toMatch(/^VM: running \(pid \d+, up \d+ s\)/);
    expect(plain.stdout).toMatch(/last marker: Cache volume accepted/);
  });

  it('refuses to launch over a running VM, without running the launcher', () => {
    const before = serial();
    const out = cli([...LAUNCH(), '--miner-seed-file', seedFile]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/error: a VM is already running \(pid \d+, pid file .*\)\n {2}fix: tdx-wizard status; tdx-wizard stop/);
    expect(out.stderr).not.toMatch(/run-tdx\.sh --network-type/);
    expect(serial()).toBe(before); // not truncated by a second start
  });

  it('logs: prints the log with hints, exit 0 for a good boot', () => {
    const out = cli(['logs']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/=== Cache Volume Verification Complete ===\n {2}>> Cache volume accepted: /);
    expect(out.stdout).toMatch(/--- end of log: last marker: Cache volume accepted ---\n$/);
    expect(out.stdout).not.toMatch(/\x1b|\r/);
  });

  it('stop: asks (refused without a terminal), then --yes runs the launcher\'s --clean, found from the settings', async () => {
    const pid = (readPidFile(env.TDX_WIZARD_PID_FILE) as {pid: number}).pid;
    const asked = cli(['stop']);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(/Stop the VM \(pid \d+\)\? .* No terminal to ask on\.\n {2}fix: pass --yes/);
    expect(processAlive(pid)).toBe(true);
    const out = cli(['stop', '--yes']);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/run-tdx\.sh --clean/);
    expect(out.stdout).toMatch(new RegExp(`Stopped the VM \\(pid ${pid}\\)`));
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(env.TDX_WIZARD_PID_FILE!)).toBe(false);
    expect(existsSync(join(run, 'generated-user-data.yaml'))).toBe(false);
    const settings = JSON.parse(readFileSync(join(env.TDX_WIZARD_CONFIG_DIR!, 'config.json'), 'utf8'));
    expect(settings.launcherPath).toBe(LAUNCHER);
    expect(statSync(join(env.TDX_WIZARD_CONFIG_DIR!, 'config.json')).mode & 0o777).toBe(0o600);
    expect(cli(['stop', '--yes']).stdout).toMatch(/No VM is running/);
    expect(json(cli(['--json', 'status'])).find((e) => e.type === 'result')).toMatchObject({running: false, pidFileState: 'absent'});
  });

  it('refuses a volume the guest would reject (it would power off)', () => {
    const verdict = {verdict: 'wrong-label', accepted: false, reason: 'it is labelled "models", the guest looks for "tdx-cache"', fix: `tdx-wizard relabel ${volume}`};
    const out = cli([...LAUNCH(), '--miner-seed-file', seedFile], {TDXW_TEST_VERDICT: JSON.stringify(verdict)});
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`error: the guest would reject ${volume} and power itself off: it is labelled "models"`);
    expect(out.stderr).toContain(`fix: tdx-wizard relabel ${volume}`);
    expect(existsSync(env.TDX_WIZARD_PID_FILE!)).toBe(false);
  });

  it('reports every bad field at once, before touching anything', () => {
    const args = LAUNCH().map((a) => (a === 'miner-01' ? 'Miner_01' : a === '192.168.100.1' ? '192.168.7.1' : a));
    const out = cli([...args, '--miner-seed', 'nothex', '--ssh-port', '70000']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/warning: --miner-seed puts the seed on the command line: every user of this host can see it in ps/);
    expect(out.stderr).toMatch(/4 launch fields need fixing:/);
    expect(out.stderr).toMatch(/the hostname has "M" at position 1/);
    expect(out.stderr).toMatch(/the miner seed has a character that is not hex/);
    expect(out.stderr).toMatch(/outside the VM's network 192\.168\.100\.0\/24/);
    expect(out.stderr).toMatch(/SSH port "70000"/);
    expect(out.stderr).not.toContain('nothex');
  });

  it('--dry-run prints the exact launcher command with the seed masked, and runs nothing', () => {
    const out = cli(['--dry-run', ...LAUNCH()], {TDX_MINER_SEED: `0x${SEED}`});
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim()).toBe(
      `${LAUNCHER} --network-type macvtap --net-iface vmnet-1234abcd --vm-ip 192.168.100.2 --vm-gateway 192.168.100.1 --hostname miner-01 ` +
        `--miner-ss58 ${SS58} --miner-seed '********' --cache-volume ${volume} --image ${image}`,
    );
    expect(out.stderr).toMatch(/removed the "0x"/);
    const events = json(cli(['--json', '--dry-run', ...LAUNCH()], {TDX_MINER_SEED: SEED}));
    expect(events.find((e) => e.type === 'warning')).toMatchObject({message: expect.stringMatching(/generated-user-data\.yaml/)});
    expect(events.find((e) => e.type === 'command-start')).toMatchObject({planned: true, argv: expect.arrayContaining(['--miner-seed', '********'])});
    expect(events.find((e) => e.type === 'result')).toMatchObject({ok: true, dryRun: true, verdict: 'ready'});
    expect(existsSync(env.TDX_WIZARD_PID_FILE!)).toBe(false);
  });

  it('warns about a seed file other users can read', () => {
    const loose = join(tmp.path, 'loose-seed');
    writeFileSync(loose, SEED);
    chmodSync(loose, 0o644);
    const out = cli(['--dry-run', ...LAUNCH(), '--miner-seed-file', loose]);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/warning: the miner seed file .*loose-seed can be read by every user \(mode 0644\)\n {2}fix: chmod 600/);
  });

  it('gives the hint for a launcher error', () => {
    const out = cli([...LAUNCH(), '--miner-seed-file', seedFile], {FAKE_TDX_SCENARIO: 'no-tdx'});
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/hint: This QEMU has no TDX support\./);
    expect(out.stderr).toMatch(/failed: Launch the TDX VM failed \(exit code 1\): This QEMU has no TDX support\n(.|\n)*fix: install the TDX-enabled QEMU/);
    // Without --image the launcher's default path is relative to where it runs: not here.
    const args = LAUNCH();
    args.splice(args.indexOf('--image'), 2);
    const missing = cli([...args, '--miner-seed-file', seedFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/Could not open 'guest-tools\/image\/tdx-guest-ubuntu-24\.04-final\.qcow2'/);
    expect(missing.stderr).toMatch(/fix: tdx-wizard launch --image/);
  });
});

describe('each way the guest powers itself off', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['not-found', 'cache-not-found', /fix: tdx-wizard verify .*cache-volume\.qcow2|tdx-wizard verify <volume>/],
    ['wrong-label', 'cache-wrong-label', /tdx-wizard relabel/],
    ['wrong-fs', 'cache-wrong-filesystem', /tdx-wizard inspect/],
    ['fsck-failed', 'cache-fsck-failed', /tdx-wizard repair <volume> \(qemu-img check, then e2fsck -f -y/],
    ['storage-setup-failed', 'storage-missing', /storage-volume/],
    ['luks-sync-failed', 'luks-sync-failed', /validator/],
  ];
  for (const [scenario, id, fix] of cases) {
    it(scenario, async () => {
      const out = cli([...LAUNCH(), '--miner-seed-file', seedFile], {FAKE_TDX_SCENARIO: scenario});
      expect(out.code, out.stderr).toBe(0);
      await until('the VM to power off', () => !existsSync(env.TDX_WIZARD_PID_FILE!));
      expect(serial()).not.toMatch(/Verification Complete|Mounted var-snap/); // truncated at launch
      const logs = cli(['--json', 'logs']);
      expect(logs.code).toBe(1);
      const events = json(logs);
      expect(events.filter((e) => e.type === 'hint').map((e) => e.id)).toContain(id);
      expect(events.find((e) => e.type === 'result')).toMatchObject({poweredOff: true, failed: true, marker: {id, severity: 'error'}});
      const plain = cli(['logs']);
      expect(plain.stdout).toMatch(/--- end of log: the VM powered off: /);
      expect(plain.stdout).toMatch(fix);
      const status = json(cli(['--json', 'status'])).find((e) => e.type === 'result');
      expect(status).toMatchObject({running: false, pidFileState: 'absent', poweredOff: true, failed: true, marker: {id}});
    });
  }
});

/** `logs --follow` in the background, with what it has printed so far. */
function follow(followEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'logs', '--follow'], {env: {...process.env, ...followEnv}, stdio: ['ignore', 'pipe', 'pipe']});
  const out = {stdout: '', stderr: ''};
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const done = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return {child, out, done};
}

describe('logs --follow', () => {
  it('follows across a relaunch, marks the restart and the VM\'s end, stops on SIGINT with 130', async () => {
    const {child, out, done} = follow(env);
    try {
      await until('the follower to start', () => out.stdout.length > 0);
      expect(cli([...LAUNCH(), '--miner-seed-file', seedFile], {FAKE_TDX_SCENARIO: 'wrong-label'}).code).toBe(0);
      await until('the VM to power off', () => out.stdout.includes('--- VM powered off'), 15_000);
      expect(cli([...LAUNCH(), '--miner-seed-file', seedFile], {FAKE_TDX_SCENARIO: 'ok'}).code).toBe(0);
      await until('the good boot', () => out.stdout.includes('Mounted var-snap'), 15_000);
      await until('the running VM to be noticed', () => /--- VM running \(pid \d+\) ---/.test(out.stdout), 5_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- stdout:\n${out.stdout}\n--- stderr:\n${out.stderr}`);
    } finally {
      child.kill('SIGINT');
    }
    expect(await done).toBe(130);
    printed.push(out.stdout, out.stderr);
    expect(out.stdout).toMatch(/--- VM restarted: the serial log was (truncated|replaced) ---/);
    expect(out.stdout).toMatch(/ERROR: Cache device has wrong label: 'models' \(expected 'tdx-cache'\)\n {2}>> The cache volume has the wrong label: .* Fix: tdx-wizard relabel/);
    expect(out.stdout).toMatch(/--- VM powered off: The cache volume has the wrong label \(fix: tdx-wizard relabel <volume>\) ---/);
    expect(out.stdout).toMatch(/--- VM running \(pid \d+\) ---/);
    const bootWithWrongLabel = out.stdout.split('--- VM restarted').find((part) => part.includes("wrong label: 'models'"))!;
    expect(bootWithWrongLabel.match(/--- VM (powered off|stopped)/g)).toHaveLength(1); // said once, not again from the pid file
    expect(out.stdout).not.toMatch(/\x1b/); // plain lines when not a terminal
    await killVm();
  });
});

describe('logs --follow: a boot that powers off before its pid file is first looked at', () => {
  it('says the VM stopped once, not again when its pid then appears and ends', async () => {
    const dir = join(tmp.path, 'quick-boot');
    mkdirSync(dir);
    const own = {...env, TDX_WIZARD_PID_FILE: join(dir, 'vm.pid'), TDX_WIZARD_SERIAL_LOG: join(dir, 'serial.log')};
    writeFileSync(own.TDX_WIZARD_SERIAL_LOG, 'Linux version 6.8.0\n');
    const {child: follower, out, done} = follow(own);
    const vm = spawn('bash', ['-c', 'exec -a qemu-system-x86_64 sleep 30'], {stdio: 'ignore'}); // stands for QEMU: a live pid named as QEMU
    try {
      await until('the follower to start', () => out.stdout.includes('Linux version'));
      // The boot ends, powered off, before there is a pid file to see.
      appendFileSync(own.TDX_WIZARD_SERIAL_LOG, 'reboot: Power down\n');
      await until('the power-down', () => out.stdout.includes('--- VM powered off'));
      writeFileSync(own.TDX_WIZARD_PID_FILE, `${vm.pid}\n`);
      await until('the VM to be noticed', () => /--- VM running \(pid \d+\) ---/.test(out.stdout));
      vm.kill();
      rmSync(own.TDX_WIZARD_PID_FILE);
      await new Promise((r) => setTimeout(r, 1500)); // three looks at the pid file
    } finally {
      vm.kill();
      follower.kill('SIGINT');
    }
    expect(await done).toBe(130);
    expect(out.stdout.match(/--- VM (powered off|stopped)/g)).toEqual(['--- VM powered off']);
  });
});

describe('the seed', () => {
  it('is in no file the wizard wrote and in nothing it printed', () => {
    const written = [...filesUnder(env.TDX_WIZARD_STATE_DIR!), ...filesUnder(env.TDX_WIZARD_CONFIG_DIR!)];
    expect(written.some((f) => f.includes('transcripts'))).toBe(true);
    for (const f of written) expect(readFileSync(f, 'utf8'), f).not.toContain(SEED.slice(8, 40));
    const transcripts = written.filter((f) => f.includes('transcripts')).map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(transcripts).toMatch(/--miner-seed '\*{8}'/);
    expect(printed.length).toBeGreaterThan(20);
    for (const text of printed) expect(text).not.toContain(SEED.slice(8, 40));
  });
});

describe('in process', () => {
  const fields = (cacheVolume: string): LaunchFields => ({cacheVolume, networkType: 'user', vmIp: '10.0.0.2', vmGateway: '10.0.0.1', hostname: 'h', minerSs58: SS58, minerSeed: SEED, image, extra: []});

  it('registers the seed before anything is recorded, even when the launch is refused', async () => {
    const runner = new Runner({store: createAppStore(), dryRun: true});
    const verdict = {path: volume, verdict: 'in-use' as const, accepted: false, reason: 'a qemu-nbd holds it'};
    await expect(launchVm(runner, {launcher: LAUNCHER, fields: fields(volume), verify: async () => verdict})).rejects.toThrow(/QEMU would not start the VM with .*: a qemu-nbd holds it/);
    expect(runner.mask(`x ${SEED} y`)).toBe('x ******** y');
    const ok = await launchVm(runner, {launcher: LAUNCHER, fields: fields(volume), verify: async () => ({...verdict, verdict: 'ready', accepted: true})});
    expect(ok.result.run.argv).toContain('********');
    expect(ok.result.run.argv.join(' ')).not.toContain(SEED);
  });

  it('finds QEMU by the -pidfile on its command line (the pid file itself is root\'s)', async () => {
    const pidPath = join(tmp.path, 'other.pid');
    // Its own process group, so that the sleep goes with it.
    const child = spawn('bash', ['-c', 'sleep 30; exit 0', '-pidfile', pidPath], {stdio: 'ignore', detached: true});
    const ended = new Promise((r) => child.on('exit', r));
    try {
      await until('the process', () => findByPidFileArg(pidPath) === child.pid);
      expect(findByPidFileArg(join(tmp.path, 'none.pid'))).toBeUndefined();
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await ended;
    }
  });

  it('uses the real volume check: accepts a tdx-cache ext4 volume, refuses a mislabelled one', async () => {
    requireTools('mkfs.ext4', 'debugfs');
    const {verifyVolume} = await import('../src/volume/verify.js');
    const dir = join(tmp.path, 'real');
    mkdirSync(dir);
    const good = makeVolume(dir, 'good.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const bad = makeVolume(dir, 'bad.qcow2', {fs: 'ext4', label: 'tdx-cache-storag'});
    const runner = new Runner({store: createAppStore(), dryRun: true});
    await expect(launchVm(runner, {launcher: LAUNCHER, fields: fields(bad), verify: verifyVolume})).rejects.toThrow(/the guest would reject/);
    // Seen: qemu's corrupt bit, verify said ok and the launch went ahead; QEMU refuses such an image read-write.
    const corrupt = makeVolume(dir, 'corrupt.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    setCorruptBit(corrupt);
    await expect(launchVm(runner, {launcher: LAUNCHER, fields: fields(corrupt), verify: verifyVolume})).rejects.toThrow(/QEMU would not start the VM with \S+corrupt\.qcow2: qemu marked the qcow2 image corrupt/);
    expect(runner.store.getState().runs).toEqual([]); // the launcher never ran
    const ok = await launchVm(runner, {launcher: LAUNCHER, fields: fields(good), verify: verifyVolume});
    expect(ok.verdict).toMatchObject({verdict: 'ready', accepted: true});
  });
});
