// The trusted storage screen in a pseudo-terminal, as an operator reaches it: the main menu item,
// the form, then the checks run for real through the runner (a stand-in kubectl first on PATH, no
// cluster reachable: warnings), the highlighted check in full, and back to the form and the menu.
// Make is not chosen here: the wizard enables its unit in the running system's /etc/systemd/system
// (test/trusted-storage.test.ts runs the same create through the controller in a temporary root).
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {standInKubectl} from './helpers/kubectl.js';
import {startPty, type PtyRun} from './helpers/pty.js';
import {requireTools, tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;

beforeAll(() => {
  requireTools('losetup', 'systemctl');
  tmp = tempDir('tdxw-trusted-pty-');
});
afterEach(() => {
  run?.kill();
  run = undefined;
});
afterAll(() => tmp?.remove());

describe('the wizard: trusted storage for confidential containers', () => {
  it('menu item, form, the checks with the selected one in full, back to the form and the menu', async () => {
    const dir = join(tmp.path, 'screen');
    mkdirSync(join(dir, 'bin'), {recursive: true});
    standInKubectl(join(dir, 'bin'), join(dir, 'kubectl.log'), {context: 'tdx-lab', reachable: false});
    const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), PATH: `${join(dir, 'bin')}:${process.env.PATH}`, CI: 'false'};
    run = startPty([CLI], {cwd: dir, env, cols: 110, rows: 32});
    await run.waitFor('First-time setup');
    for (let i = 0; i < 9; i++) await run.press('Down');
    await run.waitFor(/❯ Trusted storage for confidential containers/);
    await run.press('Enter');
    await run.waitFor(/❯ Name/);
    await run.waitFor('trusted-store-1');
    await run.press('Down', 'Down', 'Down', 'Down'); // to the runtime class
    await run.waitFor(/❯ Runtime class/);
    for (let i = 0; i < 3; i++) await run.press('Enter'); // runtime class, namespace, then storage class submits
    await run.waitFor(/checks? failed|gave warnings?/, 20_000);
    await run.waitFor(/the cluster is not reachable/);
    await run.waitFor(/✔ a free loop device/);
    await run.waitFor(/❯ Make trusted-store-1: 100G in \/var\/lib\/tdx-wizard\/trusted/); // highlighted once the checks are in
    await run.press('Down'); // "Change the values": back to the form, the values kept
    await run.waitFor(/❯ Change the values/);
    await run.press('Enter');
    await run.waitFor(/❯ Name/);
    await run.waitFor('trusted-store-1');
    await run.press('Escape');
    await run.waitFor((screen) => /❯ First-time setup/.test(screen) && /q quit\s*$/.test(screen.trimEnd()));
    await run.press('q');
    await run.exited();
  }, 60_000);
});
