// The wizard offers repair wherever it finds a damaged volume, in a pseudo-terminal as a person
// uses it: the label screen finds the filesystem flagged with errors, offers "Repair it first", the
// repair screen opens with the volume filled in, asks for its name typed back (a wrong name is
// refused), and runs e2fsck -f -y; afterwards e2fsck -fn is clean and the verdict is ready.
import {mkdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli} from './helpers/cli.js';
import {startPty, type PtyRun} from './helpers/pty.js';
import {openRelabel} from './helpers/wizard-steps.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {damagedExt4, readData, randomData, sha256} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'fusermount3', 'mkfs.ext4', 'debugfs', 'e2fsck');
  tmp = tempDir('tdxw-repair-pty-');
});
afterEach(() => {
  run?.kill();
  run = undefined;
});
afterAll(() => tmp?.remove());

describe('the wizard offers repair for a damaged volume', () => {
  it('from the label screen: "Repair it first" opens the repair with the volume filled in; after the typed name it runs e2fsck -f -y and the volume is ready', async () => {
    const dir = join(tmp.path, 'damaged');
    mkdirSync(dir);
    const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config')};
    const data = randomData();
    const volume = damagedExt4(dir, 'cache.qcow2', data);

    run = startPty([CLI], {cwd: dir, env, cols: 110, rows: 32});
    await openRelabel(run, volume);
    await run.waitFor('verdict fs-errors');
    await run.waitFor(/❯ Repair it first \(e2fsck -f -y or xfs_repair\)/);
    await run.press('Enter');
    await run.waitFor(/❯ Repair cache\.qcow2 \(asks for its name\)/); // the repair screen, the volume filled in
    expect(run.screen()).toContain(`${volume}: ext4 labelled "tdx-cache"; verdict fs-errors`);
    await run.press('Enter');
    await run.waitFor('Type cache.qcow2 and press Enter to confirm.');
    expect(run.screen()).toContain("files it cannot repair are removed or moved to lost+found.");
    await run.type('cache.qcow', {echo: true});
    await run.press('Enter');
    await run.waitFor('"cache.qcow" is not "cache.qcow2"');
    await run.type('2');
    await run.waitFor('Matches. Press Enter to go ahead.');
    await run.press('Enter');
    await run.waitFor(/✔ done: e2fsck: errors were found and corrected/, 60_000);
    await run.waitFor(/verdict ready \(the VM will accept it\)/);
    await run.press('Enter');
    await run.waitFor('First-time setup');
    await run.press('q');
    expect(await run.exited()).toBe(0);

    const copy = join(dir, 'check.raw');
    sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', volume, copy]);
    expect(spawnSync('e2fsck', ['-fn', copy], {stdio: 'ignore'}).status).toBe(0);
    rmSync(copy);
    expect(sha256(readData(volume))).toBe(sha256(data));
    expect(runCli(['verify', volume], {env: {...env, CI: 'true'}}).code).toBe(0);
  }, 90_000);
});
