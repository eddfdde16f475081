// First-time setup for the newest guests (E6, chutes-cvm) as an operator goes through it: the built
// binary in a pseudo-terminal at 80x24, keys one at a time. chutes-cvm is an installed program
// (the stand-in of test/fixtures/cvm-bin on PATH), so the launch form offers it without being told;
// the seed file given for the config volume is read again for the launch, not asked twice.
import {cpSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {startPty, type PtyRun, endPty} from './helpers/pty.js';
import {requireTools, tempDir} from './helpers/tools.js';
import {field as fieldIn} from './helpers/wizard-steps.js';

const SEED = '7e1f0a2b3c4d5e6f'.repeat(4);
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'mkfs.xfs', 'e2fsck');
  tmp = tempDir('tdxw-e6-e2e-');
});
afterEach(async () => {
  await endPty(run);
  run = undefined;
});
afterAll(() => tmp.remove());

const field = (label: string, text?: string) => fieldIn(run!, label, text);

describe('first-time setup for E6 (chutes-cvm)', () => {
  it('the E6 set, then its launch form: chutes-cvm from PATH, the seed read from the file given for the config volume', async () => {
    const home = join(tmp.path, 'e6');
    mkdirSync(home);
    const bin = join(home, 'bin');
    cpSync('test/fixtures/cvm-bin', bin, {recursive: true});
    const seedFile = join(home, 'miner.seed');
    writeFileSync(seedFile, `${SEED}\n`, {mode: 0o600});
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      TDX_WIZARD_STATE_DIR: join(home, 'state'),
      TDX_WIZARD_CONFIG_DIR: join(home, 'config'),
      TDX_WIZARD_LAYOUT_ROOT: join(home, 'layout'),
      TDX_WIZARD_FORCE_SMALL: '1',
    };
    run = startPty([CLI], {cwd: home, env, cols: 80, rows: 24});
    await run.waitFor('First-time setup');
    await run.press('Enter');
    await run.waitFor(/❯ Continue to the guest era/, 20_000);
    await run.press('Enter');

    await run.waitFor(/❯ E4\s+run-td/);
    for (let i = 0; i < 3; i++) await run.press('Down');
    await run.waitFor(/❯ E6\s+chutes-cvm/);
    await run.press('Enter');
    await field('Directory');
    await field('Hostname', 'miner-06');
    await run.waitFor(/The E6 guest reads 3 volumes from/);
    await run.waitFor(/❯ Prepare the set/);
    await run.press('Down');
    await run.waitFor(/❯ Change the sizes/);
    await run.press('Enter');
    await field('cache size', '320M');
    await field('storage size', '320M');
    await run.waitFor(/❯ Prepare the set/);
    await run.press('Enter');

    await run.waitFor('The config volume (tdx-config)');
    await field('Miner SS58', SS58);
    await field('Seed file', seedFile);
    await field('VM IP');
    await field('Gateway');
    await field('DNS');
    await run.waitFor(/✔ done: the E6 guest finds/, 60_000);
    await run.press('Enter');

    // The launch form: chutes-cvm as installed, the hostname and hotkey of the set, the seed already read (masked).
    await run.waitFor('Step 1 of 2: the launcher, the volumes and the miner.');
    await run.waitFor(new RegExp(`Launcher\\s+${bin}/chutes-cvm`));
    await run.waitFor(/Hostname\s+miner-06/);
    await run.waitFor(/Miner seed\s+\*{64}|Miner seed\s+\*+…/);
    expect(run.screen()).not.toContain(SEED);
    for (const label of ['Launcher', 'Cache volume', 'Storage volume', 'Config volume', 'Hostname', 'Miner SS58']) await field(label);
    await run.waitFor(/❯ Miner seed/);
    await run.waitFor((screen) => screen.replace(/\s+/g, ' ').includes(`read from ${seedFile}, given for the config volume`));
    await run.press('Enter');
    await run.waitFor('Step 2 of 2: the network');
    await run.waitFor(/❯ Network type\s+tap/);
    expect(run.output()).not.toContain(SEED);
    expect(readFileSync(join(home, 'config', 'config.json'), 'utf8')).not.toMatch(/seed/i);
    await run.press('q');
  }, 180_000);
});
