// The serial log changes under `logs --follow` (no terminal: plain lines): deleted, truncated,
// replaced. The launcher hangs (a timeout, or Ctrl-C: exit 130, and nothing it started is left) or
// dies (its exit code and a hint).
import {appendFileSync, mkdirSync, renameSync, rmSync, truncateSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {runCli, startCli} from '../helpers/cli.js';
import {requireTools, tempDir} from '../helpers/tools.js';
import {makeVolume} from '../helpers/volumes.js';
import {alive, launchSetup, readyPid, SIGNAL_EXIT, waitFor, type LaunchSetup} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let launch: LaunchSetup;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'bash', 'sleep', 'ps');
  tmp = tempDir('tdxw-rel-serial-');
  launch = launchSetup(tmp.path, (d, name) => makeVolume(d, name, {fs: 'ext4', label: 'tdx-cache', size: '64M'}));
});
afterEach(async () => launch.stopVm());
afterAll(() => tmp?.remove());

describe('logs --follow while the serial log changes under it', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`deleted, recreated, truncated, replaced: each said; ${signal} ends it with ${SIGNAL_EXIT[signal]}`, async () => {
      const log = join(tmp.path, `serial-${signal}.log`);
      writeFileSync(log, 'SeaBIOS (version stand-in)\r\n');
      const run = startCli(['logs', '--follow', '--file', log], {env: launch.env});
      const seen = (re: RegExp) => waitFor(`${re} in the output`, () => re.test(run.output()), 10_000);
      await seen(/SeaBIOS \(version stand-in\)\n/);
      appendFileSync(log, '=== Cache Volume Verification Started ===\r\n');
      await seen(/=== Cache Volume Verification Started ===\n/);

      rmSync(log);
      await seen(/--- \S+ was deleted; waiting for a new one \(a running VM keeps writing to the deleted file until it restarts\) ---/);
      writeFileSync(log, 'after delete: first line\r\n');
      await seen(/--- VM restarted: the serial log was replaced ---\nafter delete: first line\n/);

      truncateSync(log, 0);
      appendFileSync(log, 'after truncate\r\n');
      await seen(/--- VM restarted: the serial log was truncated ---\nafter truncate\n/);

      const fresh = `${log}.new`;
      writeFileSync(fresh, 'a replaced file\r\nERROR: Cache device has wrong label: \'models\' (expected \'tdx-cache\')\r\n');
      renameSync(fresh, log);
      await seen(/--- VM restarted: the serial log was replaced ---\na replaced file\n/);
      await seen(/>> .*label.*Fix: tdx-wizard relabel/i);

      run.child.kill(signal);
      const result = await run.done;
      expect(result.code).toBe(SIGNAL_EXIT[signal]);
      expect(result.stdout).not.toMatch(/\r|\x1b/);
    });
  }

  it('a log that does not exist yet: waits for it, then follows it', async () => {
    const log = join(tmp.path, 'serial-later.log');
    const run = startCli(['logs', '--follow', '--file', log], {env: launch.env});
    await waitFor('the waiting notice', () => /waiting for \S+ to appear/.test(run.output()));
    writeFileSync(log, 'first boot line\r\n');
    await waitFor('the first line', () => /first boot line\n/.test(run.output()));
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
  });
});

/** A stand-in launcher that hangs: it starts a child (as the real one starts QEMU) and waits. */
function hangingLauncher(dir: string): string {
  mkdirSync(dir, {recursive: true});
  const path = join(dir, 'run-tdx.sh');
  writeFileSync(path, `#!/bin/bash
echo $$ >'${dir}/launcher.pid'
echo "Detecting NVIDIA GPUs... (stand-in, hangs)"
sleep 600 & echo $! >'${dir}/child.pid.tmp' && mv '${dir}/child.pid.tmp' '${dir}/child.pid'
wait
`, {mode: 0o755});
  return path;
}

function launcher(dir: string, body: string): string {
  mkdirSync(dir, {recursive: true});
  const path = join(dir, 'run-tdx.sh');
  writeFileSync(path, `#!/bin/bash\n${body}\n`, {mode: 0o755});
  return path;
}

describe('a launcher that hangs', () => {
  it('times out (TDX_WIZARD_LAUNCH_TIMEOUT): exit 1, says what happened, the launcher and its child are gone', async () => {
    const dir = join(tmp.path, 'hang-timeout');
    const path = hangingLauncher(dir);
    const started = Date.now();
    const r = runCli(launch.args({launcher: path}), {env: {...launch.env, TDX_WIZARD_LAUNCH_TIMEOUT: '2'}});
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`failed: ${path} did not return within 2 s and was stopped \\(with everything it had started\\)`));
    expect(r.stderr).toMatch(/Detecting NVIDIA GPUs/);
    expect(r.stderr).toMatch(/fix: its last lines are above; tdx-wizard status shows whether a VM came up\. A slow host may need more time: TDX_WIZARD_LAUNCH_TIMEOUT=SECONDS/);
    const [launcherPid, childPid] = ['launcher.pid', 'child.pid'].map((f) => readyPid(join(dir, f)));
    await waitFor('the launcher and its child to be gone', () => !alive(launcherPid!) && !alive(childPid!), 5000);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while it hangs: exit ${SIGNAL_EXIT[signal]}, the launcher and its child are gone`, async () => {
      const dir = join(tmp.path, `hang-${signal}`);
      const path = hangingLauncher(dir);
      const run = startCli(launch.args({launcher: path}), {env: launch.env});
      await waitFor('the launcher to start its child', () => {
        try {
          return readyPid(join(dir, 'child.pid')) > 0;
        } catch {
          return false;
        }
      });
      const [launcherPid, childPid] = ['launcher.pid', 'child.pid'].map((f) => readyPid(join(dir, f)));
      run.child.kill(signal);
      const result = await run.done;
      expect(result.code, run.output()).toBe(SIGNAL_EXIT[signal]);
      await waitFor('the launcher and its child to be gone', () => !alive(launcherPid!) && !alive(childPid!), 5000);
    });
  }
});

describe('a launcher that dies', () => {
  it('with an exit code and an unknown message: exit 1, its code, its words and a hint', () => {
    const path = launcher(join(tmp.path, 'dies'), 'echo "Error: something upstream did not like"; exit 3');
    const r = runCli(launch.args({launcher: path}), {env: launch.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/failed: Launch the TDX VM failed \(exit code 3\)/);
    expect(r.stderr).toMatch(/Error: something upstream did not like/);
    expect(r.stderr).toMatch(new RegExp(`fix: the lines above are the launcher's own output; tdx-wizard check shows what the host lacks, and ${path} --help its options`));
  });

  it('killed (SIGKILL, as by the OOM killer): exit 1, says it was killed, and where to look', () => {
    const path = launcher(join(tmp.path, 'killed'), 'echo "Detecting NVIDIA GPUs..."; kill -9 $$');
    const r = runCli(launch.args({launcher: path}), {env: launch.env});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/failed: Launch the TDX VM: ended by SIGKILL: the launcher was killed/);
    expect(r.stderr).toMatch(/fix: something killed it with SIGKILL \(the out-of-memory killer\? dmesg \| tail\); tdx-wizard status shows whether a VM is left/);
  });

  it('with a line the catalogue knows (QEMU without TDX): exit 1, the hint and its fix', () => {
    const r = runCli(launch.args(), {env: {...launch.env, FAKE_TDX_SCENARIO: 'no-tdx'}});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/failed: Launch the TDX VM failed \(exit code 1\): .+/);
    expect(r.stderr).toMatch(/Parameter 'qom-type' does not accept value 'tdx-guest'/);
    expect(r.stderr).toMatch(/\n {2}fix: \S/);
  });

  it('the VM that launched then powers off: status says why (the guest rejected its volume)', async () => {
    const r = runCli(launch.args(), {env: {...launch.env, FAKE_TDX_SCENARIO: 'wrong-label'}});
    expect(r.code, r.stderr).toBe(0);
    await waitFor('the stand-in guest to power off', () => !/^VM: running/.test(runCli(['status'], {env: launch.env}).stdout), 10_000);
    const logs = runCli(['logs'], {env: launch.env});
    expect(logs.code).toBe(1);
    expect(logs.stdout).toMatch(/--- end of log: the VM powered off: .*label.*\(fix: tdx-wizard relabel/i);
  });
});
