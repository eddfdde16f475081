// Other users on the same host: the shared scratch space (/dev/shm or TDX_WIZARD_SCRATCH_DIR), the
// NBD lock in world-writable /run/lock, the VM's pid file in /tmp, and a normal user's PATH. What
// another user owns or forges is never trusted, followed or removed.
import {chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from '../helpers/cli.js';
import {requireTools, tempDir} from '../helpers/tools.js';
import {alive, launchSetup, runCliAsNobody, waitFor} from '../helpers/reliability.js';
import {makeVolume} from '../helpers/volumes.js';
import {spawn, type ChildProcess} from 'node:child_process';

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

describe("the VM's pid file in /tmp", () => {
  const procs: ChildProcess[] = [];
  afterAll(() => procs.forEach((p) => p.kill('SIGKILL')));
  /** A live process started as `argv0` (exec -a), as the launcher's QEMU or any other program would be. */
  async function live(argv0: string): Promise<number> {
    const child = spawn('bash', ['-c', `exec -a ${argv0} sleep 60`], {stdio: 'ignore'});
    procs.push(child);
    await waitFor('the process to start', () => alive(child.pid!), 5000);
    return child.pid!;
  }
  const setup = (name: string) => {
    const dir = join(tmp.path, name);
    mkdirSync(dir, {recursive: true});
    return launchSetup(dir, (d, n) => makeVolume(d, n, {fs: 'ext4', label: 'tdx-cache', size: '64M'}));
  };

  it("another user's pid file naming a live process: not believed; status says so, launch and stop refuse, the process lives", async () => {
    const s = setup('pid-forged');
    const victim = await live('sshd');
    writeFileSync(s.env.TDX_WIZARD_PID_FILE!, `${victim}\n`);
    chownSync(s.env.TDX_WIZARD_PID_FILE!, NOBODY, NOBODY);
    const status = runCli(['status'], {env: s.env});
    expect(status.stdout + status.stderr).toMatch(/not running \(the pid file \S+ is owned by uid 65534, not root: not believed\)/);
    const launch = runCli(s.args(), {env: s.env});
    expect(launch.code, launch.stderr).toBe(2);
    expect(launch.stderr).toMatch(/the pid file \S+ is owned by uid 65534, not root: not believed, and the launcher would stop pid \d+ first[\s\S]*fix: rm \S+tdx-td-pid\.pid/);
    const stop = runCli(['stop', '--yes', '--era', 'E1', '--launcher', s.args()[4]!], {env: s.env});
    expect(stop.code, stop.stderr).toBe(2);
    expect(alive(victim)).toBe(true);
  });

  it("root's pid file naming a live process that is not QEMU: not believed, says what it names", async () => {
    const s = setup('pid-not-qemu');
    const other = await live('postgres');
    writeFileSync(s.env.TDX_WIZARD_PID_FILE!, `${other}\n`);
    const status = runCli(['status'], {env: s.env});
    expect(status.stdout + status.stderr).toMatch(new RegExp(`not running \\(the pid file \\S+ names pid ${other} \\(postgres\\), which is not QEMU: not believed\\)`));
    const launch = runCli(s.args(), {env: s.env});
    expect(launch.code, launch.stderr).toBe(2);
    expect(alive(other)).toBe(true);
  });

  it("root's pid file naming a QEMU: running", async () => {
    const s = setup('pid-qemu');
    const qemu = await live('qemu-system-x86_64');
    writeFileSync(s.env.TDX_WIZARD_PID_FILE!, `${qemu}\n`);
    const status = runCli(['status'], {env: s.env});
    expect(status.stdout).toMatch(new RegExp(`running \\(pid ${qemu}`));
  });
});
