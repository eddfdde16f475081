// The interactive wizard as a person uses it: the built binary in a pseudo-terminal, real files,
// the stand-in launcher, keys one at a time, assertions on the emulated screen.
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {encodeSs58} from '../src/vm/ss58.js';
import {CLI} from './helpers/cli.js';
import {startPty, type PtyRun, endPty} from './helpers/pty.js';
import {openRelabel, toRelabel} from './helpers/wizard-steps.js';
import {alive, blockingTool, readyPid, release, waitFor} from './helpers/reliability.js';
import {requireTools, tempDir, toolPath} from './helpers/tools.js';
import {makeVolume, randomData, readData, sha256} from './helpers/volumes.js';
import {FAKE_BIN, FakeHost} from './helpers/fake-host.js';

const SEED = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'.repeat(2);
const SS58 = encodeSs58(new Uint8Array(32).map((_, i) => i * 7 + 1), 42);

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;

/** The wizard from its menu to a started grow of `volume` to the size it proposes. */
async function startGrow(dir: string, env: NodeJS.ProcessEnv, volume: string): Promise<PtyRun> {
  const run = startPty([CLI], {cwd: dir, env, cols: 100, rows: 30});
  await run.waitFor('First-time setup');
  await run.press('Down');
  await run.waitFor(/❯ Troubleshoot NBD/);
  for (let i = 0; i < 2; i++) await run.press('Down');
  await run.waitFor(/❯ Grow a volume/);
  await run.press('Enter');
  await run.waitFor(/❯ Volume file/);
  await run.type(volume, {echo: true});
  await run.press('Enter');
  await run.waitFor(/❯ New size/);
  await run.press('Enter');
  await run.waitFor(/❯ Grow to/);
  await run.press('Enter');
  return run;
}

function envFor(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    TDX_WIZARD_STATE_DIR: join(dir, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(dir, 'config'),
    TDX_WIZARD_PID_FILE: join(dir, 'tdx-td-pid.pid'),
    TDX_WIZARD_SERIAL_LOG: join(dir, 'tdx-guest-td.log'),
    FAKE_TDX_TMP: dir,
    FAKE_TDX_STEP: '0.01',
    ...extra,
  };
}

function workDir(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  return dir;
}

/** Every file below `dir` (recursively), for the "the seed is nowhere" check. */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** The launcher's default guest image, relative to where it runs (upstream's repository layout). */
function guestImage(dir: string): void {
  mkdirSync(join(dir, 'guest-tools', 'image'), {recursive: true});
  writeFileSync(join(dir, 'guest-tools', 'image', 'tdx-guest-ubuntu-24.04-final.qcow2'), 'stand-in');
}

/** The stand-in E1 launcher run by hand in `dir` (as an operator would have), and remembered as the wizard's launcher. */
function launchStandIn(dir: string, env: NodeJS.ProcessEnv, volume: string, settings: Record<string, string> = {}): void {
  copyFileSync('test/fixtures/run-tdx.sh', join(dir, 'run-tdx.sh'));
  guestImage(dir);
  const args = ['--network-type', 'user', '--vm-ip', '10.0.0.2', '--vm-gateway', '10.0.0.1', '--hostname', 'h', '--miner-ss58', SS58, '--miner-seed', SEED, '--cache-volume', volume];
  const started = spawnSync(join(dir, 'run-tdx.sh'), args, {cwd: dir, env: {...process.env, ...env}, encoding: 'utf8'});
  expect(started.status, started.stderr).toBe(0);
  mkdirSync(join(dir, 'config'), {recursive: true});
  writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify({launcherPath: join(dir, 'run-tdx.sh'), ...settings}), {mode: 0o600});
}

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'qemu-storage-daemon', 'e2fsck', 'resize2fs');
  tmp = tempDir('tdxw-e2e-');
});
afterEach(async () => {
  await endPty(run);
  run = undefined;
});
afterAll(() => {
  // The stand-in VM, if a test left it running.
  spawnSync('sh', ['-c', `for f in ${tmp.path}/*/tdx-td-pid.pid; do [ -f "$f" ] && kill $(cat "$f") 2>/dev/null; done; true`]);
  tmp.remove();
});

/** A stand-in guest that powered off on a cache volume labelled "models", remembered as the volume; the wizard started on it at 110x30. */
async function wrongLabelBoot(name: string): Promise<{volume: string; pty: PtyRun}> {
  const dir = workDir(name);
  const env = envFor(dir, {FAKE_TDX_SCENARIO: 'wrong-label'});
  const volume = makeVolume(dir, 'cache.qcow2', {fs: 'ext4', label: 'models'});
  launchStandIn(dir, env, volume, {volumePath: volume});
  await waitFor('the stand-in guest to power off', () => readFileSync(env.TDX_WIZARD_SERIAL_LOG!, 'utf8').includes('Power down'), 20_000);
  run = startPty([CLI], {cwd: dir, env, cols: 110, rows: 30});
  return {volume, pty: run};
}

describe('the wizard in a terminal', () => {
  it('first-time setup: checks, a real volume, launch parameters, review with the seed masked, launch, the boot in the log pane', async () => {
    const dir = workDir('setup');
    copyFileSync('test/fixtures/run-tdx.sh', join(dir, 'run-tdx.sh'));
    guestImage(dir);
    const env = envFor(dir);
    run = startPty([CLI], {cwd: dir, env, cols: 100, rows: 30});
    await run.waitFor('First-time setup');
    await run.waitFor(`Tail the serial log  ${env.TDX_WIZARD_SERIAL_LOG} with hints`); // the log it would open
    await run.press('Enter');
    await run.waitFor(/checks? failed|host looks ready/);
    await run.press('Enter');
    // The stand-in launcher is run-tdx.sh's: the E1 era, whose guest reads the cache volume only.
    await run.waitFor(/❯ E4/);
    for (const era of ['E3b', 'E3a', 'E2', 'E1']) {
      await run.press('Up');
      await run.waitFor(new RegExp(`❯ ${era}`));
    }
    await run.press('Enter');
    await run.waitFor(/❯ Directory/); // empty: the layout; this set goes beside the launcher instead
    await run.type(dir);
    await run.waitFor(`Directory ${dir}`); // (waited for: a frame can come in two reads)
    await run.press('Enter');
    await run.waitFor(/❯ Hostname/);
    await run.type('miner-01');
    await run.waitFor(/❯ Hostname\s+miner-01/);
    await run.press('Enter');
    await run.waitFor(/cache\s+cache-miner-01\.qcow2\s+5000G\s+qcow2\s+ext4 "tdx-cache"\s+create/);
    await run.waitFor(/❯ Prepare the set: create cache/);
    await run.press('Enter');
    await run.waitFor(/✔ done: the E1 guest finds "tdx-cache", each once/, 20_000);
    expect(run.screen()).toMatch(/✔ cache: Format/);
    await run.press('Enter');

    await run.waitFor('Step 1 of 2');
    // One key, then the screen it leads to: keys in the same read go to the screen they arrived on.
    const next = async (field: string, text?: string) => {
      await run!.waitFor(new RegExp(`❯ ${field}`));
      if (text !== undefined) {
        await run!.type(text);
        // The typed value beside its label (the bare text may appear elsewhere, e.g. in a hint).
        await run!.waitFor(new RegExp(`❯ ${field}\\s+${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      }
      await run!.press('Enter');
    };
    await next('Launcher'); // ./run-tdx.sh
    await next('Cache volume'); // the one just made
    await next('Hostname'); // given with the volume set
    await next('Miner SS58', SS58);
    await run.waitFor(/❯ Miner seed/);
    await run.type(`0x${SEED}`);
    await run.waitFor('*'.repeat(SEED.length + 2)); // every character arrived (masked)
    expect(run.screen()).not.toContain(SEED.slice(0, 12));
    await run.press('Enter');

    await run.waitFor('Step 2 of 2');
    await run.waitFor(/❯ Network type/);
    await run.press('\u0015'); // Ctrl+U clears the field
    await next('Network type', 'user');
    await next('Interface'); // none for user networking
    await next('VM IP', '192.168.100.2');
    await next('Gateway', '192.168.100.1');
    await next('DNS');
    await next('SSH port');
    await next('Guest image'); // the launcher's defaults from here on
    await next('vCPUs');
    await next('Memory');

    await run.waitFor('Review: the exact command');
    const review = run.screen().split('\n').join(''); // the command is wrapped at the screen width
    expect(review).toContain('--miner-seed ********');
    expect(review).toContain(`--cache-volume ${join(dir, 'cache-')}`);
    expect(review).not.toContain(SEED.slice(0, 12));
    await run.press('Enter');
    await run.waitFor(/✔ done: the VM runs as pid \d+/, 20_000);
    await run.press('Enter');
    await run.waitFor(/Cache Volume Verification Complete|cache volume was verified|verification passed/i, 20_000);

    await run.press('Escape'); // from the log to the VM it launched (status, stop)
    await run.waitFor(/running: pid \d+/);
    await run.press('Escape');
    // The menu, and its own help bar (a frame after it): the keys are the menu's from then on.
    await run.waitFor((screen) => /❯ First-time setup/.test(screen) && /Enter select · Esc back · \? help · q quit\s*$/.test(screen.trimEnd()));
    await run.press('q');
    expect(await run.exited()).toBe(0);

    const output = run.output();
    expect(output).not.toContain(SEED);
    for (const file of [...filesBelow(join(dir, 'state')), ...filesBelow(join(dir, 'config'))]) {
      expect(readFileSync(file, 'utf8'), file).not.toContain(SEED);
      expect(statSync(file).mode & 0o077, `${file} is private`).toBe(0);
    }
    const settings = JSON.parse(readFileSync(join(dir, 'config', 'config.json'), 'utf8'));
    expect(settings).toMatchObject({hostname: 'miner-01', minerSs58: SS58, networkType: 'user'});
    expect(JSON.stringify(settings)).not.toMatch(/seed/i);
  }, 120_000);

  it('the terminal is in raw mode before the first frame is drawn, so a key pressed as the menu appears counts; line mode is back at exit', async () => {
    requireTools('strace');
    const dir = workDir('raw-first');
    const trace = join(dir, 'wizard.strace');
    run = startPty(['-f', '-e', 'trace=ioctl,write,writev', '-e', 'signal=none', '-s', '100000', '-o', trace, process.execPath, CLI], {
      command: 'strace', cwd: dir, env: envFor(dir), cols: 100, rows: 30,
    });
    await run.waitFor('First-time setup');
    await run.press('q');
    expect(await run.exited()).toBe(0);
    const lines = readFileSync(trace, 'utf8').split('\n');
    // A terminal left line mode when ICANON went from its local flags ("c_lflag=ISIG|ECHO...").
    const raw = lines.findIndex((l) => /ioctl\(\d+, [^,]*TCSETS/.test(l) && /c_lflag=/.test(l) && !/c_lflag=[^,]*ICANON/.test(l));
    const frame = lines.findIndex((l) => /^\d+ +writev?\(/.test(l) && l.includes('First-time setup'));
    expect(frame, 'the first frame was not found in the trace').toBeGreaterThan(0);
    expect(raw, 'raw mode was never set').toBeGreaterThanOrEqual(0);
    expect(raw, 'raw mode came after the first frame').toBeLessThan(frame);
    // And the terminal is left as it was found: the last change of its modes turns line mode back on.
    const sets = lines.filter((l) => /ioctl\(\d+, [^,]*TCSETS/.test(l) && /c_lflag=/.test(l));
    expect(sets.at(-1), 'the terminal was left in raw mode').toMatch(/c_lflag=[^,]*ICANON/);
  }, 30_000);

  it('bad input where it is typed: the field says what is wrong and how to fix it, Enter stays, nothing is made', async () => {
    const dir = workDir('bad-input');
    run = startPty([CLI], {cwd: dir, env: envFor(dir), cols: 110, rows: 30});
    await run.waitFor('First-time setup');
    await run.press('Enter');
    await run.waitFor(/checks? failed|host looks ready/);
    await run.waitFor(/❯ Continue to the guest era/);
    await run.press('Enter');
    await run.waitFor(/❯ E4/);
    await run.press('Enter');
    await run.waitFor(/❯ Directory/);
    const retype = async (text: string) => {
      await run!.press('\u0015'); // Ctrl+U
      await run!.type(text, {echo: true});
    };
    await retype('/etc/passwd');
    await run.waitFor('/etc/passwd is not a directory');
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.screen()).toMatch(/❯ Directory/); // Enter did not move on
    await retype(dir);
    await run.press('Enter');
    await run.waitFor(/❯ Hostname/);
    await retype('Miner-01');
    await run.waitFor('write it in lower case: miner-01');
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.screen()).toMatch(/❯ Hostname/);
    await retype('miner-01');
    await run.press('Enter');
    await run.waitFor(/❯ Prepare the set: create cache, storage, config/);
    await run.press('Down');
    await run.waitFor(/❯ Change the sizes/);
    await run.press('Enter');
    await run.waitFor(/❯ cache size/);
    await retype('10GB');
    await run.waitFor('unit "GB" is ambiguous (GB and GiB differ)');
    await retype('50G');
    await run.waitFor('size 50G is under 100G');
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.screen()).toMatch(/❯ cache size/);
    // The wizard has no --force-small switch: the fix says where a test volume is made instead.
    // Whole, on as many rows as it takes (it was cut at the edge, losing the command's end).
    expect(run.screen()).toMatch(/fix: use 100G or more; a smaller test volume from a shell: tdx-wizard create --force-small\s+PATH\s+SIZE/);
    await run.press('Escape'); // back to the table
    await run.waitFor(/❯ Prepare the set/);
    await run.press('Escape'); // back to the directory and hostname
    await run.waitFor(/❯ Directory/);
    await run.press('Escape'); // back to the era
    await run.waitFor(/❯ E4/);
    await run.press('Escape'); // back to the checks
    await run.waitFor(/❯ Continue to the guest era/);
    await run.press('Escape'); // back to the menu
    await run.waitFor(/❯ First-time setup/);
    expect(readdirSync(dir).filter((f) => f.includes('miner-01'))).toEqual([]); // nothing reserved, nothing made

    // The launch form: the same checks as `tdx-wizard launch`; the seed is never shown, even in part.
    // Its fields are the launcher's era's: run-tdx.sh (E1) takes the credentials, though E4 was chosen above.
    copyFileSync('test/fixtures/run-tdx.sh', join(dir, 'run-tdx.sh'));
    const volume = makeVolume(dir, 'vm-volume.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    await run.press('Down');
    await run.waitFor(/❯ Troubleshoot NBD/);
    for (const item of [/❯ Repair a volume label/, /❯ Grow a volume/, /❯ Launch \/ status \/ stop the VM/]) {
      await run.press('Down');
      await run.waitFor(item);
    }
    await run.press('Enter');
    await run.waitFor(/❯ Launch the VM/);
    await run.press('Enter');
    await run.waitFor('Step 1 of 2');
    await run.waitFor(/❯ Launcher/);
    await run.press('Enter');
    await run.waitFor(/❯ Cache volume/);
    await run.waitFor(/cache-vm\.qcow2 does not exist/); // the default name beside the launcher
    await retype(volume);
    await run.press('Enter');
    await run.waitFor(/❯ Hostname/);
    await run.type('Miner_01', {echo: true});
    await run.waitFor(/the hostname has "M" at position 1/);
    await retype('gpu-box-7'); // not miner-01: the fix shows that one as its example, and the echo would match it
    await run.press('Enter');
    await run.waitFor(/❯ Miner SS58/);
    await run.type(`${SS58.slice(0, -1)}${SS58.endsWith('a') ? 'b' : 'a'}`, {echo: true}); // one character changed
    await run.waitFor(/checksum/i);
    await retype(SS58);
    await run.press('Enter');
    await run.waitFor(/❯ Miner seed/);
    await run.type(SEED.slice(0, 63));
    await run.waitFor('the miner seed has 63 hex characters; it needs exactly 64');
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.screen()).toMatch(/❯ Miner seed/);
    expect(run.screen()).not.toContain(SEED.slice(0, 8));
    expect(run.output()).not.toContain(SEED.slice(0, 8));
    await run.type(SEED.slice(63));
    await run.press('Enter');
    // The network page: the type is a choice (←/→), and every field is checked as it is typed.
    await run.waitFor('Step 2 of 2');
    await run.waitFor(/❯ Network type\s+tap/);
    await run.waitFor(/←→ choose/); // the help bar names the keys of a choice
    await run.press('Right');
    await run.waitFor(/❯ Network type\s+macvtap/);
    await run.press('Right');
    await run.waitFor(/❯ Network type\s+user/);
    await run.press('Enter');
    await run.waitFor(/❯ Interface/);
    await run.press('Enter');
    await run.waitFor(/❯ VM IP/);
    await run.type('192.168.100.300', {echo: true});
    await run.waitFor('the VM IP "192.168.100.300" is not an IPv4 address');
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(run.screen()).toMatch(/❯ VM IP/); // Enter stays on a wrong field
    await retype('192.168.100.2');
    await run.press('Enter');
    await run.waitFor(/❯ Gateway/);
    await run.type('10.0.0.1', {echo: true});
    await run.waitFor(/outside the VM's network 192\.168\.100\.0\/24/);
    await retype('192.168.100.1');
    await run.press('Enter');
    await run.waitFor(/❯ DNS/);
    await run.press('Enter');
    await run.waitFor(/❯ SSH port/);
    await run.type('abc', {echo: true});
    await run.waitFor('the SSH port "abc" is not a whole number from 1 to 65535');
    await run.press('Escape'); // back a field and forward again: what was typed is kept
    await run.waitFor(/❯ DNS/);
    await run.press('Enter');
    await run.waitFor(/❯ SSH port\s+abc/);
    // Out of the form altogether and back in: what was typed is still there.
    for (let i = 0; i < 20 && !/❯ Launch the VM/.test(run.screen()); i++) {
      await run.press('Escape');
      await new Promise((r) => setTimeout(r, 60));
    }
    await run.waitFor(/❯ Launch the VM/);
    await run.press('Enter');
    await run.waitFor('Step 1 of 2');
    await run.waitFor(/Hostname\s+gpu-box-7/);
    expect(run.screen()).toContain(volume);
    await run.press('C-c'); // a text field takes q as a letter; Ctrl+C leaves (nothing runs)
    expect(await run.exited()).toBe(130);
    expect(readdirSync(dir).filter((f) => f !== 'config' && f !== 'state').sort()).toEqual(['run-tdx.sh', 'vm-volume.qcow2']); // nothing made but the test's own files
  }, 60_000);

  it('a destructive step waits for the typed name: stopping the VM', async () => {
    const dir = workDir('stop');
    const env = envFor(dir);
    launchStandIn(dir, env, makeVolume(dir, 'cache.qcow2', {fs: 'ext4', label: 'tdx-cache'}));
    const pid = Number(readFileSync(env.TDX_WIZARD_PID_FILE!, 'utf8'));

    run = startPty([CLI], {cwd: dir, env, cols: 100, rows: 30});
    await run.waitFor('First-time setup');
    await run.press('Down');
    await run.waitFor(/❯ Troubleshoot NBD/);
    for (let i = 0; i < 3; i++) await run.press('Down');
    await run.waitFor(/❯ Launch \/ status \/ stop the VM/);
    await run.press('Enter');
    await run.waitFor(`running: pid ${pid}`);
    // An action that cannot run says why; the status moves on by itself (the uptime was frozen).
    expect(run.screen()).toContain('Launch the VM (unavailable: a VM is running: stop it first)');
    const head = () => run!.screen().split('\n').find((l) => l.includes(`running: pid ${pid}`)) ?? '';
    const before = head();
    await run.waitFor(() => head() !== before && head() !== '', 6_000);
    await run.press('Down');
    await run.waitFor(/❯ Stop the VM/);
    await run.press('Enter');
    // The confirmation's own words: the serial log above it says "Filesystem type: ext4", so a
    // loose /type/ matched before the confirmation opened and its first key reached the menu.
    await run.waitFor('Type stop and press Enter');
    await run.type('sto');
    await run.waitFor(/Confirm: sto/);
    await run.press('Enter');
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(`/proc/${pid}`)).toBe(true); // nothing happened on a partial name
    await run.type('p');
    await run.waitFor(/Confirm: stop/);
    await run.press('Enter');
    await run.waitFor(/✔ done: the VM was stopped/, 20_000);
    expect(existsSync(env.TDX_WIZARD_PID_FILE!)).toBe(false);
  }, 60_000);

  it('a hint that names a wizard action opens it from the VM screen, with the volume filled in', async () => {
    const {volume, pty} = await wrongLabelBoot('hint-action');
    await pty.waitFor('First-time setup');
    for (let i = 0; i < 4; i++) await pty.press('Down');
    await pty.waitFor(/❯ Launch \/ status \/ stop the VM/);
    await pty.press('Enter');
    await pty.waitFor(/wrong label/i);
    await pty.waitFor(`Fix it: relabel the cache volume ${volume}`);
    await pty.waitFor(/❯ Launch the VM/);
    await pty.press('Down'); // past Stop, which cannot be chosen: no VM runs
    await pty.waitFor(/❯ Fix it/);
    await pty.press('Enter');
    await pty.waitFor(`❯ Volume file ${volume}`); // the relabel screen, the volume filled in
    await pty.press('Enter');
    await pty.waitFor(/labelled "models"/);
    await pty.press('C-c');
    expect(await pty.exited()).toBe(130);
  }, 60_000);

  it('a hint that names a wizard action opens from the log pane on x, with the volume filled in (x typed into a search stays text)', async () => {
    const {volume, pty} = await wrongLabelBoot('hint-log');
    await pty.waitFor('First-time setup');
    for (let i = 0; i < 5; i++) await pty.press('Down');
    await pty.waitFor(/❯ Tail the serial log/);
    await pty.press('Enter');
    await pty.waitFor(`x: relabel the cache volume ${volume}`);
    await pty.waitFor(/x fix \(opens what the hint above names\) · ↑ k PgUp pause/); // the help bar promises the key, first
    await pty.press('/');
    await pty.type('x');
    await pty.waitFor(/^\/x/m); // typed into the search, not taken as the fix
    await pty.press('Escape');
    await pty.waitFor(/x fix/);
    await pty.press('x');
    await pty.waitFor(`❯ Volume file ${volume}`); // the relabel screen, the volume filled in
    await pty.press('C-c');
    expect(await pty.exited()).toBe(130);
  }, 60_000);

  it('Ctrl+C during a running command asks first, then cancels: the child is gone, the volume untouched, exit 130', async () => {
    const dir = workDir('cancel');
    const env = envFor(dir);
    const data = randomData();
    const volume = makeVolume(dir, 'grow-me.qcow2', {fs: 'ext4', label: 'tdx-cache', data});
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // qemu-img resize, the grow's first command (e2fsck and resize2fs are never signalled: below).
    const pidFile = join(dir, 'qemu-img.pid');
    writeFileSync(join(bin, 'qemu-img'), `#!/bin/sh\nif [ "$1" = resize ]; then echo $$ > ${pidFile}; echo "stand-in qemu-img: resizing"; exec sleep 60; fi\nexec ${toolPath('qemu-img')} "$@"\n`, {mode: 0o755});

    run = await startGrow(dir, {...env, PATH: `${bin}:${process.env.PATH}`}, volume);
    await run.waitFor('stand-in qemu-img: resizing', 20_000);
    const toolPid = Number(readFileSync(pidFile, 'utf8'));
    await run.press('C-c');
    await run.waitFor('Press Ctrl+C again');
    expect(existsSync(`/proc/${toolPid}`)).toBe(true);
    await run.press('C-c');
    await run.waitFor(/✖ cancelled/, 20_000);
    expect(existsSync(`/proc/${toolPid}`)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(dir, 'state'));
    await run.press('C-c');
    expect(await run.exited()).toBe(130);
  }, 60_000);

  it('a first Ctrl+C that the step outlives: the prompt goes when the step ends, and no message follows the operator to another screen', async () => {
    const dir = workDir('outlived');
    const env = envFor(dir);
    const volume = makeVolume(dir, 'grow-me.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // qemu-img resize takes a second and a half, long enough for one Ctrl+C.
    writeFileSync(join(bin, 'qemu-img'), `#!/bin/sh\nif [ "$1" = resize ]; then echo "stand-in qemu-img: resizing slowly"; sleep 1.5; fi\nexec ${toolPath('qemu-img')} "$@"\n`, {mode: 0o755});
    run = await startGrow(dir, {...env, PATH: `${bin}:${process.env.PATH}`}, volume);
    await run.waitFor('stand-in qemu-img: resizing slowly', 20_000);
    await run.press('C-c');
    await run.waitFor('Press Ctrl+C again');
    await run.waitFor(/✔ done/, 30_000);
    await run.waitFor((screen) => !screen.includes('Press Ctrl+C again'));
    await run.press('Enter');
    await run.waitFor(/❯ (Volume file|First-time setup)/);
    expect(run.screen()).not.toMatch(/Press Ctrl\+C|Cancelling|cancel/);
    await run.press('C-c');
    expect(await run.exited()).toBe(130);
  }, 60_000);

  it('Ctrl+C twice while resize2fs runs: it is not signalled; the wizard says so, waits for it, then cancels; the filesystem is clean', async () => {
    const dir = workDir('cancel-resize2fs');
    const env = envFor(dir);
    const data = randomData();
    const volume = makeVolume(dir, 'grow-me.qcow2', {fs: 'ext4', label: 'tdx-cache', data});
    const bin = join(dir, 'bin');
    const ready = join(dir, 'resize2fs.ready');
    blockingTool(bin, 'resize2fs', ready, {maxWaitMs: 30_000});
    run = await startGrow(dir, {...env, PATH: `${bin}:${process.env.PATH}`}, volume);
    await waitFor('resize2fs to start', () => existsSync(ready), 30_000);
    const toolPid = readyPid(ready);
    await run.press('C-c');
    await run.waitFor('Press Ctrl+C again');
    await run.press('C-c');
    await run.waitFor(/must not be interrupted/, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(alive(toolPid)).toBe(true);
    release(ready);
    await run.waitFor(/✖ cancelled/, 30_000);
    expect(alive(toolPid)).toBe(false);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(dir, 'state'));
    const raw = `${volume}.raw`;
    spawnSync(toolPath('qemu-img'), ['convert', '-f', 'qcow2', '-O', 'raw', volume, raw]);
    const fsck = spawnSync(toolPath('e2fsck'), ['-fn', raw], {encoding: 'utf8'});
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    expect(sha256(readData(volume))).toBe(sha256(data));
    await run.press('C-c');
    expect(await run.exited()).toBe(130);
  }, 90_000);

  it('repair a label from its screens alone: the data is kept', async () => {
    const dir = workDir('relabel');
    const data = randomData();
    const volume = makeVolume(dir, 'old-doc.qcow2', {fs: 'ext4', label: 'tdx-cache-storage', data});
    run = startPty([CLI], {cwd: dir, env: envFor(dir), cols: 100, rows: 30});
    await openRelabel(run, volume);
    await run.waitFor(/old documentation/);
    await run.waitFor(/❯ Relabel the cache volume as "tdx-cache"/);
    await run.press('Enter');
    await run.waitFor(/✔ done: ext4 labelled "tdx-cache"/, 30_000);
    expect(run.screen()).toMatch(/✔ Detach and check/);
    await run.press('Enter');
    await run.waitFor('First-time setup');
    await run.press('q');
    expect(await run.exited()).toBe(0);
    expect(sha256(readData(volume))).toBe(sha256(data));
  }, 60_000);

  it('repair a label of the remembered era\'s storage volume (E6: XFS, raw): its own label, written with xfs_admin', async () => {
    const dir = workDir('relabel-e6');
    const volume = makeVolume(dir, 'storage-miner-06.raw', {fs: 'xfs', label: 'data', format: 'raw', size: '320M'});
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify({era: 'E6'}));
    run = startPty([CLI], {cwd: dir, env: envFor(dir), cols: 100, rows: 30});
    await openRelabel(run, volume);
    await run.waitFor(/xfs labelled "data"; verdict wrong-label/);
    await run.waitFor(/❯ Relabel the storage volume as "storage"/);
    await run.press('Enter');
    await run.waitFor(/✔ done: xfs labelled "storage"/, 30_000);
    await run.press('Enter');
    await run.waitFor('First-time setup');
    await run.press('q');
    expect(await run.exited()).toBe(0);
    expect(spawnSync('blkid', ['-o', 'value', '-s', 'LABEL', volume], {encoding: 'utf8'}).stdout.trim()).toBe('storage');
  }, 60_000);

  it("logs --follow: the first frame already shows the log's end (it is read while Ink loads)", async () => {
    const dir = workDir('log-first-frame');
    const log = join(dir, 'serial.log');
    writeFileSync(log, `${Array.from({length: 2000}, (_, i) => `[    ${i}.000000] kernel: boot line ${i}`).join('\r\n')}\r\nthe last line\r\n`);
    run = startPty([CLI, 'logs', '--follow', '--file', log], {cwd: dir, env: envFor(dir), cols: 100, rows: 30});
    await run.waitFor('the last line');
    // Ink wraps each frame in a synchronized update (ESC [?2026h ... ESC [?2026l).
    const raw = run.output();
    const start = raw.indexOf('\u001B[?2026h');
    expect(start, 'no frame drawn').toBeGreaterThanOrEqual(0);
    const first = raw.slice(start, raw.indexOf('\u001B[?2026l', start));
    expect(first).toContain('the last line');
    expect(first).not.toContain('waiting for');
    await run.press('Escape'); // started from the shell: back to the shell
    expect(await run.exited()).toBe(0);
  }, 60_000);

  it('logs --follow starts on the log pane without the settings, and loads them on the way to another screen', async () => {
    const dir = workDir('log-first');
    const log = join(dir, 'serial.log');
    writeFileSync(log, 'boot line one\r\nboot line two\r\n');
    mkdirSync(join(dir, 'config'), {recursive: true});
    writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify({volumePath: '/srv/remembered-cache.qcow2', volumeSize: '5000G', networkType: 'tap'}));
    run = startPty([CLI, 'logs', '--follow', '--file', log], {cwd: dir, env: envFor(dir), cols: 100, rows: 30});
    await run.waitFor('boot line two');
    await run.press('q'); // started from the shell: q (like Esc) returns to it
    expect(await run.exited()).toBe(0);
    // The log pane opened from the menu: Esc leads back to the menu, and the menu's screens read the settings.
    run = startPty([CLI], {cwd: dir, env: {...envFor(dir), TDX_WIZARD_SERIAL_LOG: log}, cols: 100, rows: 30});
    await run.waitFor('First-time setup');
    for (let i = 0; i < 5; i++) await run.press('Down');
    await run.waitFor(/❯ Tail the serial log/);
    await run.press('Enter');
    await run.waitFor('boot line two');
    await run.press('Escape');
    await toRelabel(run);
    await run.waitFor('/srv/remembered-cache.qcow2'); // the remembered path, read once the settings loaded
    await run.press('Escape');
    // The menu, and its own help bar (a frame after it): the keys are the menu's from then on.
    await run.waitFor((screen) => /❯ First-time setup/.test(screen) && /Enter select · Esc back · \? help · q quit\s*$/.test(screen.trimEnd()));
    await run.press('q');
    expect(await run.exited()).toBe(0);
  }, 60_000);

  it('troubleshoot NBD: the device table, and a detach that waits for the typed device', async () => {
    const host = new FakeHost({devices: [{state: 'connected', image: '/srv/volumes/cache.qcow2'}, {state: 'stale'}, {state: 'free'}]});
    try {
      const dir = workDir('nbd');
      run = startPty([CLI], {cwd: dir, env: {...envFor(dir), ...host.env, PATH: `${FAKE_BIN}:${process.env.PATH}`}, cols: 110, rows: 30});
      await run.waitFor('First-time setup');
      await run.press('Down');
      await run.waitFor(/❯ Troubleshoot NBD/);
      await run.press('Enter');
      await run.waitFor('/srv/volumes/cache.qcow2');
      const table = run.screen();
      expect(table).toMatch(/nbd0\s+connected/);
      expect(table).toMatch(/nbd1\s+stale/);
      expect(table).toMatch(/nbd2\s+free/);
      await run.waitFor(/❯ Detach .*nbd0 \(connected\)/);
      await run.press('Enter');
      await run.waitFor(/Type \S+ and press Enter/);
      await run.type('/dev/nbd0');
      await run.waitFor(/Confirm: \/dev\/nbd0/);
      await run.press('Enter');
      await new Promise((r) => setTimeout(r, 300));
      expect(host.log().filter((l) => l.includes('--disconnect'))).toEqual([]); // the wrong name did nothing
      await run.press('\u0015');
      await run.type(`${host.roots.dev}/nbd0`);
      await run.waitFor(/Confirm: \/tmp.*nbd0/);
      await run.press('Enter');
      await run.waitFor(/✔ done: .*nbd0 is free/, 30_000);
      expect(host.log().some((l) => l.includes('--disconnect'))).toBe(true);
      expect(host.sysfsPid('nbd0')).toBeUndefined();
    } finally {
      run?.kill('SIGTERM');
      await run?.exit;
      run = undefined;
      await host.remove();
    }
  }, 60_000);

  it('re-lays out at 60 columns and stays below the terminal height', async () => {
    const dir = workDir('narrow');
    run = startPty([CLI], {cwd: dir, env: envFor(dir), cols: 100, rows: 24});
    await run.waitFor('First-time setup');
    run.resize(60, 20);
    // The frame redrawn for 60 columns (on a busy machine Ink's redraw comes a while after the resize).
    await run.waitFor((screen) => screen.includes('First-time setup') && screen.includes('q quit') && screen.split('\n').every((l) => l.length <= 60), 10_000);
    // Ink clears once when the width shrinks; after that, frames fit: no clear-everything redraws.
    const before = run.output().length;
    await run.press('Down');
    await run.waitFor(/❯ Troubleshoot NBD/);
    await run.press('Up');
    await run.waitFor(/❯ First-time setup/);
    expect(run.output().slice(before)).not.toContain('\x1b[3J');
    await run.press('q');
    expect(await run.exited()).toBe(0);
  }, 30_000);

  it('NO_COLOR: no colour codes and ASCII glyphs, colour is never the only signal', async () => {
    const dir = workDir('nocolor');
    run = startPty([CLI], {cwd: dir, env: {...envFor(dir), NO_COLOR: '1'}, cols: 100, rows: 30});
    await run.waitFor('First-time setup');
    await run.press('Down');
    await run.waitFor(/> Troubleshoot NBD/);
    await run.press('Down', 'Down', 'Down', 'Down', 'Down');
    await run.waitFor(/> Host checks/);
    await run.press('Enter');
    await run.waitFor(/checks? failed|host looks ready/, 20_000);
    await run.waitFor(/\[x\] fail|\[!\] warn|host looks ready/); // the selected check's detail names its status in words
    const screen = run.screen();
    expect(screen).toMatch(/\[ok\] running as root/);
    expect(run.output()).not.toMatch(/\x1b\[3[0-9]m|\x1b\[9[0-7]m|\x1b\[38;/);
    await run.press('q');
    expect(await run.exited()).toBe(0);
  }, 30_000);
});
