// First-time setup for E4 as an operator goes through it, in a pseudo-terminal: menu, host checks,
// era, the volume set (prepared for real), the config volume's values, the launch form (only what
// run-td takes), the review, the launch through the REAL E4 run-td (kierr 52559611, copied into a
// tree laid out as upstream's), the boot in the serial-log pane, and the typed stop (run-td --clean).
// As in run-td.test.ts: the stand-in QEMU (test/fixtures/run-td-bin) is first on the PATH, and run-td
// hard-codes /tmp/tdx-td-pid.pid and /tmp/tdx-guest-td.log, so the wizard itself runs in a mount
// namespace with a private /tmp: its status and stop read the pid file run-td's QEMU wrote.
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {processAlive} from '../src/vm/pid.js';
import {CLI} from './helpers/cli.js';
import {privateTmp, type PrivateTmp} from './helpers/private-tmp.js';
import {startPty, type PtyRun, endPty} from './helpers/pty.js';
import {requireTools, sh} from './helpers/tools.js';
import {escapeRe, field as fieldIn, smallSizes} from './helpers/wizard-steps.js';

const UPSTREAM = resolve('../shared/upstream/2026-02_doc-era_kierr-5255961');
// Not the seed of any other test: a hit can only come from this one.
const SEED = '5e1f0a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7';
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

let root: string;
let ns: PrivateTmp;
let run: PtyRun | undefined;
const scripts = () => join(root, 'E4/host-tools/scripts');
const bin = () => join(root, 'bin');
const readPid = () => (existsSync(ns.tmp('tdx-td-pid.pid')) ? Number(readFileSync(ns.tmp('tdx-td-pid.pid'), 'utf8').trim()) : undefined);
/** The screen as one line: wrapped rows joined, runs of spaces made one. */
const flat = () => run!.screen().replace(/\s+/g, ' ');

beforeAll(async () => {
  requireTools('qemu-img', 'python3', 'setsid', 'mkfs.ext4', 'e2fsck');
  if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: the test needs shared/upstream beside the checkout`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  root = mkdtempSync('/var/tmp/tdxw-launch-e2e-'); // not /tmp: that is private in the namespace
  ns = await privateTmp();
  cpSync(resolve('test/fixtures/run-td-bin'), bin(), {recursive: true, verbatimSymlinks: true});
  cpSync(join(UPSTREAM, 'host-tools/scripts'), scripts(), {recursive: true});
  sh('chmod', ['-R', 'u+w', join(root, 'E4')]); // upstream's copies are read-only; python writes __pycache__
  mkdirSync(join(root, 'E4/firmware'));
  writeFileSync(join(root, 'E4/firmware/TDVF.fd'), 'stand-in firmware\n');
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'tdx-guest.qcow2'), '1G']);
  mkdirSync(join(root, 'sys/class/net/vmtap0'), {recursive: true});
  mkdirSync(join(root, 'vols'));
  writeFileSync(join(root, 'miner.seed'), `${SEED}\n`, {mode: 0o600});
}, 120_000);

afterEach(async () => {
  await endPty(run);
  run = undefined;
});

afterAll(async () => {
  const pid = ns ? readPid() : undefined;
  if (pid && processAlive(pid)) process.kill(pid, 'SIGTERM');
  await ns?.close();
  if (root) rmSync(root, {recursive: true, force: true});
});

const field = (label: string, text?: string) => fieldIn(run!, label, text);

describe('first-time setup for E4, to a running VM and back', () => {
  it('menu, checks, era, set, config values, the run-td form, review, launch through the real run-td, the boot in the log, the typed stop', async () => {
    const dir = join(root, 'vols');
    const image = join(root, 'tdx-guest.qcow2');
    const launcher = join(scripts(), 'run-td');
    const env: NodeJS.ProcessEnv = {
      PATH: `${bin()}:${process.env.PATH}`,
      TDX_WIZARD_STATE_DIR: join(root, 'state'),
      TDX_WIZARD_CONFIG_DIR: join(root, 'config'),
      TDX_WIZARD_SYS_ROOT: join(root, 'sys'),
      TDX_WIZARD_FORCE_SMALL: '1',
      // run-td's own files in the namespace's /tmp, not a test's.
      TDX_WIZARD_PID_FILE: '',
      TDX_WIZARD_SERIAL_LOG: '',
      // What an E4 guest prints once it has set up its volumes (a known "ok" line of the hint catalogue).
      FAKE_QEMU_SERIAL: 'Storage and cache setup completed successfully',
    };
    // nsenter leaves the working directory to the namespace's root: the wizard starts in the volume directory.
    run = startPty([...ns.enter.slice(1), 'bash', '-c', 'cd "$1" && exec "$2" "$3"', '-', dir, process.execPath, CLI], {command: ns.enter[0], cwd: dir, env, cols: 120, rows: 40});

    await run.waitFor('First-time setup');
    await run.press('Enter');
    // The title says where the operator is in the whole flow.
    await run.waitFor('first-time setup, step 1 of 5: host checks');
    await run.waitFor(/checks? failed|host looks ready/, 20_000);
    await run.waitFor(/❯ Continue to the guest era/);
    await run.press('Enter');
    await run.waitFor('first-time setup, step 2 of 5: the guest era');
    await run.waitFor(/❯ E4\s+run-td\s+cache, storage, config · default/);
    await run.press('Enter');
    await run.waitFor('first-time setup, step 3 of 5: the volume set');

    await field('Directory', dir); // typed: an empty field is the layout
    await field('Hostname', 'miner-01');
    await smallSizes(run, 'miner-01');
    await run.waitFor(/❯ Prepare the set/);
    await run.press('Enter');
    await run.waitFor('The config volume (tdx-config)');
    await field('Miner SS58', SS58);
    await field('Seed file', join(root, 'miner.seed'));
    await field('VM IP');
    await field('Gateway');
    await field('DNS');
    await run.waitFor(/✔ done: the E4 guest finds "tdx-cache", "storage"/, 60_000);
    await run.press('Enter');

    // The launch form asks what run-td takes: the set's volumes (offered from the prepared set), no credentials.
    await run.waitFor('Step 1 of 2: the launcher, the volumes.');
    expect(run.screen()).toContain('first-time setup, step 4 of 5: launch the VM');
    await field('Launcher', launcher);
    for (const [label, file] of [['Cache volume', 'cache-miner-01.qcow2'], ['Storage volume', 'storage-miner-01.qcow2'], ['Config volume', 'config-miner-01.qcow2']] as const) {
      await run.waitFor(new RegExp(`❯ ${label}\\s+${escapeRe(join(dir, file))}`));
      await run.press('Enter');
    }
    await run.waitFor('Step 2 of 2: the network (tap, user) and the guest image.');
    expect(run.screen()).not.toMatch(/Hostname|Miner|Seed|VM IP|Gateway|vCPUs|Memory/);
    await field('Network type'); // tap
    await field('Interface', 'vmtap0');
    await field('SSH port'); // run-td's own default
    await field('Guest image', image);

    await run.waitFor('Review: the exact command for the E4 launcher');
    const command = `cd ${scripts()} && python3 ./run-td --pass-gpus --image ${image} --config-volume ${join(dir, 'config-miner-01.qcow2')} --network-type tap --net-iface vmtap0 --cache-volume ${join(dir, 'cache-miner-01.qcow2')} --storage-volume ${join(dir, 'storage-miner-01.qcow2')}`;
    expect(run.screen().replace(/\s/g, '')).toContain(command.replace(/\s/g, ''));
    expect(flat()).toContain('The seed is on no command line: the guest reads it from the config volume config-miner-01.qcow2');
    expect(flat()).toMatch(/cache cache-miner-01\.qcow2: a production guest wipes this volume at its first boot and encrypts it \(LUKS2, label "tdx-cache"/);
    expect(flat()).toMatch(/storage storage-miner-01\.qcow2: a production guest wipes this volume at its first boot and encrypts it \(LUKS2, label "storage"/);
    expect(flat()).toMatch(/config config-miner-01\.qcow2: read, never written/);
    await run.waitFor(/❯ Launch the VM/);
    await run.press('Enter');

    await run.waitFor(/✔ done: the VM runs as pid \d+/, 60_000);
    const pid = Number(/the VM runs as pid (\d+)/.exec(run.screen())![1]);
    // First-time setup ends with what was done and what to watch next.
    await run.waitFor('Done: the E4 volume set');
    expect(flat()).toContain('cache-miner-01.qcow2, storage-miner-01.qcow2, config-miner-01.qcow2; the VM launched'); // (the step list beside it interleaves a flattened screen)
    expect(flat()).toMatch(/Next: Enter opens the serial log.*Later: tdx-wizard status .*tdx-wizard stop/);
    expect(readPid()).toBe(pid);
    expect(processAlive(pid)).toBe(true);
    expect(readFileSync(join(bin(), 'qemu-cwd'), 'utf8').trim()).toBe(scripts());
    const drives = readFileSync(join(bin(), 'qemu-argv'), 'utf8').split('\0').filter((_, i, all) => all[i - 1] === '-drive');
    const drive = (file: string) => drives.find((d) => d.startsWith(`file=${join(dir, file)},`));
    expect(drive('cache-miner-01.qcow2')).toMatch(/,format=qcow2(,|$)/);
    expect(drive('storage-miner-01.qcow2')).toMatch(/,format=qcow2(,|$)/);
    expect(drive('config-miner-01.qcow2')).toMatch(/,format=qcow2,readonly=on(,|$)/);
    expect(readFileSync(join(bin(), 'qemu-argv'), 'utf8')).not.toContain(SEED);

    // The boot in the serial-log pane, until the guest has found its volumes.
    await run.press('Enter');
    await run.waitFor(`stand-in QEMU: TDX guest booting (pid ${pid})`);
    expect(run.screen()).toContain('first-time setup, step 5 of 5: the boot in the serial log');
    await run.waitFor(/✔ Storage and cache volumes unlocked · Esc: the VM \(status, stop\)/, 20_000);

    // The typed stop, through run-td --clean from its directory.
    await run.press('Escape');
    await run.waitFor(`running: pid ${pid}`);
    await run.press('Down');
    await run.waitFor(/❯ Stop the VM/);
    await run.press('Enter');
    await run.waitFor(`Runs in ${scripts()}: python3 ./run-td --clean (the E4 launcher's own stop)`);
    await run.type('stop');
    await run.waitFor(/Confirm: stop/);
    await run.press('Enter');
    await run.waitFor(/✔ done: the VM was stopped/, 30_000);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(ns.tmp('tdx-td-pid.pid'))).toBe(false);
    await run.press('Enter');
    await run.waitFor(/not running/);
    await run.press('Escape');
    await run.waitFor(/❯ First-time setup/);
    await run.press('q');
    expect(await run.exited()).toBe(0);

    expect(run.output()).not.toContain(SEED);
    const settings = JSON.parse(readFileSync(join(root, 'config', 'config.json'), 'utf8'));
    expect(settings).toMatchObject({era: 'E4', launcherPath: launcher, image, volumes: {cache: join(dir, 'cache-miner-01.qcow2'), storage: join(dir, 'storage-miner-01.qcow2'), config: join(dir, 'config-miner-01.qcow2')}});
    expect(JSON.stringify(settings)).not.toMatch(/seed/i);
  }, 240_000);
});
