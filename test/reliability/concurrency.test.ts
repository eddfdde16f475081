// Two wizards at once. The first is held inside a step by a blocking stand-in; the second must
// refuse and say who holds the volume, the file name or the device, and must not disturb the first,
// which then finishes normally.
import {existsSync, mkdirSync, statSync, symlinkSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it, type TestContext} from 'vitest';
import {runCli, startCli} from '../helpers/cli.js';
import {FAKE_BIN, FakeHost} from '../helpers/fake-host.js';
import {requireTools, sh, tempDir} from '../helpers/tools.js';
import {makeVolume, randomData, readData, sha256} from '../helpers/volumes.js';
import {alive, blockingTool, mountsUnder, processesUsing, readyPid, release, waitFor} from '../helpers/reliability.js';
import {IN_USE_EXIT} from '../../src/errors.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'mkfs.ext4', 'e2label', 'debugfs', 'blkid', 'bash');
  tmp = tempDir('tdxw-rel-two-');
});
afterAll(() => tmp?.remove());

let n = 0;
function caseDir(t: TestContext): string {
  const dir = join(tmp.path, `case-${++n}`);
  mkdirSync(dir);
  t.onTestFinished(async () => {
    // A failed case may leave the first wizard blocked: let it go, stop what it attached.
    for (const p of processesUsing(dir)) process.kill(p.pid, 'SIGTERM');
    await waitFor('leftovers to exit', () => processesUsing(dir).length === 0, 30_000);
  });
  return dir;
}

/** The first wizard, started and held at `tool` until `release(ready)`. */
async function firstWizard(dir: string, tool: string, args: string[], env: NodeJS.ProcessEnv, real?: string) {
  const bin = join(dir, 'bin');
  const ready = join(bin, 'ready');
  blockingTool(bin, tool, ready, real ? {real} : {});
  const run = startCli(args, {env: {...env, PATH: `${bin}:${env.PATH ?? process.env.PATH}`}});
  await waitFor(`the first wizard to reach ${tool}`, () => existsSync(ready) || run.child.exitCode !== null);
  expect(existsSync(ready), run.output()).toBe(true);
  return {run, ready, toolPid: readyPid(ready)};
}

describe.concurrent('two wizards on the same volume', () => {
  it('relabel, resize and format while another relabel has it attached: each refuses, naming qemu-storage-daemon and its pid', async (t) => {
    const dir = caseDir(t);
    const data = randomData();
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'wrong', size: '64M', data});
    const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true'};
    const first = await firstWizard(dir, 'e2label', ['relabel', '--yes', path], env);
    const [daemon] = processesUsing(dir, ['qemu-storage-daemon']);
    expect(daemon).toBeDefined();
    const who = new RegExp(`in use \\(held by qemu-storage-daemon \\(pid ${daemon!.pid}\\)\\)`);

    const relabel = runCli(['relabel', '--yes', '--label', 'other', path], {env});
    expect(relabel.code, relabel.stderr).toBe(IN_USE_EXIT);
    expect(relabel.stderr).toMatch(who);
    expect(relabel.stderr).toMatch(/fix: stop the VM \(tdx-wizard stop\) or disconnect the NBD device/);
    const resize = runCli(['resize', '--yes', path, '+64M'], {env});
    expect(resize.code, resize.stderr).toBe(IN_USE_EXIT);
    expect(resize.stderr).toMatch(who);
    const format = runCli(['format', '--confirm', 'vol.qcow2', path], {env});
    expect(format.code, format.stderr).toBe(IN_USE_EXIT);
    expect(format.stderr).toMatch(who);
    // The second wizards neither touched the first one's attachment nor took it for a leftover.
    for (const r of [relabel, resize, format]) expect(r.stderr).not.toMatch(/earlier run/);
    expect(alive(daemon!.pid)).toBe(true);
    expect(mountsUnder(join(dir, 'state'))).toHaveLength(1);

    release(first.ready);
    const done = await first.run.done;
    expect(done.code, first.run.output()).toBe(0);
    expect(mountsUnder(join(dir, 'state'))).toEqual([]);
    expect(sha256(readData(path))).toBe(sha256(data));
    const info = JSON.parse(runCli(['inspect', '--json', path], {env}).stdout.trim().split('\n').at(-1)!);
    expect(info).toMatchObject({label: 'tdx-cache', virtualSize: 64 * 2 ** 20});
  });

  it('two creates of the same file: the second refuses, naming the first (pid and command)', async (t) => {
    const dir = caseDir(t);
    const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true'};
    const target = join(dir, 'cache.qcow2');
    const first = await firstWizard(dir, 'mkfs.ext4', ['create', '--force-small', target, '64M'], env);
    const second = runCli(['create', '--force-small', target, '64M'], {env});
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`error: ${target} is being created right now by another process \\(pid ${first.run.child.pid}: \\S+node \\S+cli\\.js create --force-small ${target} 64M; its work directory is ${dir}/\\.cache\\.qcow2\\.tdx-wizard-${first.run.child.pid}\\)`));
    expect(second.stderr).toMatch(new RegExp(`fix: wait for it to finish, or stop it with kill -TERM ${first.run.child.pid}`));
    // Not taken for the leftover of a killed run: the first one's files are intact.
    expect(statSync(target).size).toBe(0);
    expect(existsSync(join(dir, `.cache.qcow2.tdx-wizard-${first.run.child.pid}`))).toBe(true);
    release(first.ready);
    expect((await first.run.done).code, first.run.output()).toBe(0);
    expect(runCli(['verify', target], {env}).code).toBe(0);
  });
});

describe.concurrent('two wizards on the same NBD device (stand-in NBD layer)', () => {
  /** A fake host whose procfs shows the first wizard (as the real /proc would). */
  function nbdCase(t: TestContext, knobs: Record<string, string> = {}) {
    const dir = caseDir(t);
    const host = new FakeHost({devices: 2});
    t.onTestFinished(() => host.remove());
    const volumes = join(host.root, 'volumes');
    mkdirSync(volumes);
    const env = {...host.env, FAKE_NBD_READY_MS: '50', FAKE_NBD_EXIT_MS: '50', TDX_WIZARD_STATE_DIR: join(host.root, 'state'), TDX_WIZARD_CONFIG_DIR: join(host.root, 'config'), CI: 'true', PATH: `${FAKE_BIN}:${process.env.PATH}`, ...knobs};
    const showInProc = (pid: number) => symlinkSync(`/proc/${pid}`, join(host.roots.proc, String(pid)));
    return {dir, host, volumes, env, showInProc};
  }

  it('nbd detach of the device another wizard is formatting: refused, naming that wizard; recover leaves it too', async (t) => {
    const c = nbdCase(t);
    // The stand-in device needs room for mkfs: the real tool formats the fake /dev/nbd0 file.
    sh('truncate', ['-s', '64M', join(c.host.roots.dev, 'nbd0')]);
    const target = join(c.volumes, 'cache.qcow2');
    const first = await firstWizard(c.dir, 'mkfs.ext4', ['create', '--method', 'nbd', '--force-small', target, '64M'], c.env);
    c.showInProc(first.run.child.pid!);
    const detach = runCli(['nbd', 'detach', '/dev/nbd0'], {env: c.env});
    expect(detach.code, detach.stderr).toBe(1);
    expect(detach.stderr).toMatch(new RegExp(`failed: refusing to detach /dev/nbd0: tdx-wizard pid ${first.run.child.pid} attached ${c.volumes}/\\.cache\\.qcow2\\.tdx-wizard-\\d+/volume\\.qcow2 to it \\(\\S+\\) and is still using it`));
    expect(detach.stderr).toMatch(new RegExp(`fix: wait for that run to finish \\(it detaches the device itself\\), or stop it with kill -TERM ${first.run.child.pid}`));
    const recover = runCli(['nbd', 'recover', '--yes'], {env: c.env});
    expect(recover.code, recover.stderr).toBe(0);
    expect(recover.stdout).toMatch(new RegExp(`/dev/nbd0: owner-running, left: tdx-wizard pid ${first.run.child.pid} is still running and owns it`));
    expect(c.host.log().filter((l) => l.startsWith('qemu-nbd --disconnect'))).toEqual([]);
    expect(c.host.sysfsPid('nbd0')).toBeDefined();
    release(first.ready);
    // The first one goes on (its volume then fails verification: this test has no layer that copies
    // the stand-in device back into the image) and, either way, detaches the device itself.
    const done = await first.run.done;
    expect(done.code, first.run.output()).toBe(1);
    expect(first.run.output()).toMatch(/qemu-nbd --disconnect \S+\/dev\/nbd0/);
    await c.host.settle();
    expect(c.host.sysfsPid('nbd0')).toBeUndefined();
  });

  it('while one wizard is choosing a device, another waits, then refuses and says which wizard holds the NBD lock', async (t) => {
    const c = nbdCase(t);
    const image = join(c.volumes, 'a.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
    const other = join(c.volumes, 'b.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', other, '64M']);
    // The first holds the lock from choosing a device until the kernel shows the connection: held at connect.
    const first = await firstWizard(c.dir, 'qemu-nbd', ['nbd', 'attach', image], c.env, join(FAKE_BIN, 'qemu-nbd'));
    c.showInProc(first.run.child.pid!);
    const started = Date.now();
    const second = runCli(['nbd', 'attach', other], {env: c.env});
    expect(Date.now() - started).toBeGreaterThan(15_000); // it waited for the first one
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`failed: another tdx-wizard \\(pid ${first.run.child.pid}\\) is using NBD devices since \\S+ \\(attach ${image}\\); two wizards must not pick devices at the same time`));
    expect(second.stderr).toMatch(new RegExp(`fix: wait for it to finish, or stop it \\(kill -TERM ${first.run.child.pid}\\)`));
    expect(c.host.log().filter((l) => l.includes(other))).toEqual([]); // the second ran nothing on a device
    release(first.ready);
    const done = await first.run.done;
    expect(done.code, first.run.output()).toBe(0);
    expect(done.stdout).toMatch(/is attached to \/dev\/nbd0/);
    // Now the second gets the next free device, never the first one's.
    const again = runCli(['nbd', 'attach', other], {env: c.env});
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/is attached to \/dev\/nbd1/);
    for (const dev of ['/dev/nbd0', '/dev/nbd1']) expect(runCli(['nbd', 'detach', dev], {env: c.env}).code).toBe(0);
    await c.host.settle();
  }, 90_000);
});
