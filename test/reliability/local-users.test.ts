// Other users on the same host: the shared scratch space (/dev/shm or TDX_WIZARD_SCRATCH_DIR), the
// NBD lock in world-writable /run/lock, the VM's pid file in /tmp, and a normal user's PATH. What
// another user owns or forges is never trusted, followed or removed.
import {chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from '../helpers/cli.js';
import {requireTools, tempDir} from '../helpers/tools.js';
import {runCliAsNobody} from '../helpers/reliability.js';

const NOBODY = 65534;
let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'setpriv');
  tmp = tempDir('tdxw-rel-users-');
  chmodSync(tmp.path, 0o755);
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});
afterAll(() => tmp?.remove());

/** A scratch directory every user may write, as /dev/shm is (sticky, 1777). */
function sharedScratch(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  chmodSync(dir, 0o1777);
  return dir;
}

/** A directory `nobody` owns, for its volumes, state and settings. */
function nobodyHome(name: string): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  chownSync(dir, NOBODY, NOBODY);
  return dir;
}

describe('the shared scratch space', () => {
  it("root's create removes its own killed runs' leftovers, never another user's", () => {
    const scratch = sharedScratch('scratch-root');
    const theirs = join(scratch, 'tdx-wizard-raw-999998-NoBoDy');
    mkdirSync(theirs);
    chownSync(theirs, NOBODY, NOBODY);
    const ours = join(scratch, 'tdx-wizard-raw-999997-RoOtXx');
    mkdirSync(ours);
    const r = runCli(['create', '--force-small', join(tmp.path, 'root-vol.qcow2'), '64M'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(scratch)).toEqual(['tdx-wizard-raw-999998-NoBoDy']);
    expect(r.stderr).not.toMatch(/999998/);
  });

  it("a user's create is not stopped by another user's entries of the same names, and leaves them alone", () => {
    const scratch = sharedScratch('scratch-user');
    const home = nobodyHome('user-a');
    // Root's leftovers of a dead run, and a directory named as the user's next run would be named.
    mkdirSync(join(scratch, 'tdx-wizard-raw-999996-RoOtYy'), {mode: 0o700});
    for (let pid = 1; pid < 5; pid++) mkdirSync(join(scratch, `tdx-wizard-raw-${pid}-x`), {mode: 0o700});
    const r = runCliAsNobody(['create', '--force-small', join(home, 'vol.qcow2'), '64M'], {env: {TDX_WIZARD_STATE_DIR: join(home, 'state'), TDX_WIZARD_CONFIG_DIR: join(home, 'config'), CI: 'true', TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(scratch).sort()).toEqual(['tdx-wizard-raw-1-x', 'tdx-wizard-raw-2-x', 'tdx-wizard-raw-3-x', 'tdx-wizard-raw-4-x', 'tdx-wizard-raw-999996-RoOtYy']);
  });
});

describe("a normal user's PATH", () => {
  it('create finds mkfs.ext4 in /usr/sbin where check finds it, though PATH lacks the sbin directories', () => {
    const home = nobodyHome('user-b');
    const r = runCliAsNobody(['create', '--force-small', join(home, 'vol.qcow2'), '64M'], {
      env: {TDX_WIZARD_STATE_DIR: join(home, 'state'), TDX_WIZARD_CONFIG_DIR: join(home, 'config'), CI: 'true', PATH: `${process.execPath.replace(/\/node$/, '')}:/usr/local/bin:/usr/bin:/bin`},
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(home, 'vol.qcow2'))).toBe(true);
  });
});
