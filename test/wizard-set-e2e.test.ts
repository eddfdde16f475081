// First-time setup's era and volume set as an operator goes through them: the built binary in a
// pseudo-terminal at 80x24, keys one at a time, the screen read as a terminal shows it; the set it
// prepares is then checked by `tdx-wizard verify`, as the guest would find it.
import {existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli} from './helpers/cli.js';
import {startPty, type PtyRun, endPty} from './helpers/pty.js';
import {requireTools, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';
import {field as fieldIn, smallSizes} from './helpers/wizard-steps.js';

const SEED = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'.repeat(2);
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;

/** Settings and state of this test only; volumes under 100G allowed (the CLI's --force-small). */
function envFor(dir: string): NodeJS.ProcessEnv {
  return {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), TDX_WIZARD_LAYOUT_ROOT: join(dir, 'layout'), TDX_WIZARD_FORCE_SMALL: '1'};
}

function workDir(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  return dir;
}

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'e2fsck');
  tmp = tempDir('tdxw-set-e2e-');
});
afterEach(async () => {
  await endPty(run);
  run = undefined;
});
afterAll(() => tmp.remove());

const field = (label: string, text?: string) => fieldIn(run!, label, text);

/** From the main menu through the host checks to the era list. */
async function toEras(): Promise<void> {
  await run!.waitFor('First-time setup');
  await run!.press('Enter');
  await run!.waitFor(/checks? failed|host looks ready/, 20_000);
  await run!.waitFor(/❯ Continue to the guest era/);
  await run!.press('Enter');
}

describe('first-time setup: era and volume set', () => {
  it('menu, era (E4 by default, others shown with their volumes), the layout by default and hostname, the set table, smaller sizes, the config values, one run; verify passes', async () => {
    const home = workDir('e4');
    const dir = join(home, 'layout', 'vault', 'miner-01'); // the layout's folder for the VM
    const seedFile = join(home, 'miner.seed');
    writeFileSync(seedFile, `${SEED}\n`, {mode: 0o600});
    run = startPty([CLI], {cwd: home, env: envFor(home), cols: 80, rows: 24});
    await toEras();

    await run.waitFor(/No launcher is known yet: E4/);
    await run.waitFor(/❯ E4\s+run-td\s+cache, storage, config · default/);
    await run.press('Down');
    await run.waitFor(/E5: run-td with raw volumes/); // the highlighted era's details
    await run.waitFor(/cache "tdx-cache" 5000G raw ext4/);
    await run.press('Up');
    await run.waitFor(/❯ E4/);
    await run.press('Enter');

    await run.waitFor('The E4 guest reads cache, storage, config');
    await run.waitFor((screen) => /empty: the layout,\s*\S*\/layout\/vault\/<hostname>\//.test(screen)); // nothing remembered: the layout (the hint wraps, never cut)
    await field('Directory');
    await field('Hostname', 'miner-01');

    await run.waitFor(/The E4 guest reads 3 volumes from/);
    expect(run.screen()).toMatch(/cache\s+cache-miner-01\.qcow2\s+5000G\s+qcow2\s+ext4 "tdx-cache"\s+create/);
    expect(run.screen()).toMatch(/storage\s+storage-miner-01\.qcow2\s+500G\s+qcow2\s+ext4 "storage"\s+create/);
    expect(run.screen()).toMatch(/config\s+config-miner-01\.qcow2\s+10M\s+qcow2\s+ext4 "tdx-config"\s+create/);
    await smallSizes(run, 'miner-01');
    expect(run.screen()).toMatch(/storage\s+storage-miner-01\.qcow2\s+64M/);
    await run.waitFor(/❯ Prepare the set/);
    await run.press('Enter');

    await run.waitFor('The config volume (tdx-config)');
    await field('Miner SS58', SS58);
    await field('Seed file', seedFile);
    await field('VM IP'); // 192.168.100.2
    await field('Gateway'); // 192.168.100.1
    await field('DNS'); // 8.8.8.8
    await run.waitFor(/✔ done: the E4 guest finds "tdx-cache", "storage"/, 60_000);
    expect(run.screen()).toMatch(/✔ Check the set as/);
    await run.press('Enter');

    // The E4 launch form offers the prepared set; no credentials (they are in the config volume).
    await run.waitFor('Step 1 of 2: the launcher, the volumes.');
    for (const [label, file] of [['Cache', 'cache'], ['Storage', 'storage'], ['Config', 'config']]) {
      // At 80 columns the field shows the start of the path (the layout's folder, then the file's first letters).
      await run.waitFor(new RegExp(`${label} volume\\s+${join(dir, `${file}-m`).replace(/[.]/g, '\\.')}`));
    }
    expect(run.screen()).not.toMatch(/Hostname|Miner/);
    await run.press('Escape'); // back to the set: directory and hostname remembered
    await run.waitFor(/❯ Directory\s*$/m); // still the layout
    await run.press('Escape');
    await run.waitFor(/❯ E4.*chosen last time/);
    await run.press('Escape');
    await run.waitFor(/❯ Continue to the guest era/);
    await run.press('Escape');
    await run.waitFor(/❯ First-time setup/);
    await run.press('q');
    expect(await run.exited()).toBe(0);

    const verify = runCli(['verify', '--dir', dir, '--hostname', 'miner-01', '--era', 'E4'], {env: envFor(home)});
    expect(verify.stdout + verify.stderr).toMatch(/E4 set: ok/);
    expect(verify.code).toBe(0);
    for (const name of ['cache-miner-01.qcow2', 'storage-miner-01.qcow2', 'config-miner-01.qcow2']) expect(statSync(join(dir, name)).mode & 0o777, name).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700); // the layout's folder, with its manifest
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({vm: 'miner-01'});

    expect(run.output()).not.toContain(SEED);
    const settings = JSON.parse(readFileSync(join(home, 'config', 'config.json'), 'utf8'));
    expect(settings).toMatchObject({era: 'E4', hostname: 'miner-01', volumePath: join(dir, 'cache-miner-01.qcow2'), minerSs58: SS58});
    expect(settings.volumeDir).toBeUndefined(); // the next set (another VM) starts from the layout again
    expect(JSON.stringify(settings)).not.toMatch(/seed/i);
    for (const file of readdirSync(join(home, 'state'), {recursive: true, withFileTypes: true}).filter((e) => e.isFile())) {
      expect(readFileSync(join(file.parentPath, file.name), 'utf8')).not.toContain(SEED);
    }
  }, 120_000);

  it('an existing volume the guest refuses: its reason in full, and "use a new file name" instead of a dead end', async () => {
    const dir = workDir('refused');
    makeVolume(dir, 'cache-miner-02.qcow2', {fs: 'ext4', label: 'tdx-cache-storag'});
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config', 'config.json'), JSON.stringify({era: 'E1', hostname: 'miner-02', volumeDir: dir}));
    run = startPty([CLI], {cwd: dir, env: envFor(dir), cols: 80, rows: 24});
    await toEras();
    await run.waitFor(/E1 was chosen last time/);
    await run.waitFor(/❯ E1\s+run-tdx\.sh\s+cache · chosen last time/);
    await run.press('Enter');
    await field('Directory');
    await field('Hostname');
    await run.waitFor(/problem\s+cache|cache\s+cache-miner-02\.qcow2.*problem/);
    expect(run.screen().split('\n').map((l) => l.trim()).join(' ')).toContain('the guest looks for "tdx-cache" and powers off');
    await run.waitFor(/Prepare the set \(fix the problem first\) \(unavailable\)/);
    await run.waitFor(/❯ Relabel the cache volume as "tdx-cache" \(data kept\)/);
    await run.press('Down');
    await run.waitFor(/❯ Use a new file name for the cache volume/);
    await run.press('Enter');
    await field('New cache file'); // cache-miner-02-2.qcow2
    await run.waitFor(/cache-miner-02-2\.qcow2.*create|create.*cache/);
    await run.waitFor(/❯ Prepare the set: create cache/);
    await run.press('Down');
    await run.waitFor(/❯ Change the sizes/);
    await run.press('Enter');
    await field('cache size', '64M');
    await run.waitFor(/❯ Prepare the set: create cache/);
    await run.press('Enter');
    await run.waitFor(/✔ done: the E1 guest finds "tdx-cache"/, 60_000);
    await run.press('Enter');
    await run.waitFor(`Cache volume ${join(dir, 'cache-miner-02-2.qcow2')}`);
    expect(existsSync(join(dir, 'cache-miner-02.qcow2'))).toBe(true); // the refused file is left as it was
  }, 120_000);
});
