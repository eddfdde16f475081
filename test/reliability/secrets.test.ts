// The miner seed, given with --miner-seed-file or TDX_MINER_SEED, through a full launch with the
// stand-in launcher (and status, logs, stop, a dry run): afterwards it appears nowhere the wizard
// writes or shows, and not in the wizard's own command line while it runs. The launcher's own argv
// and cloud-init file are upstream's exposure (the wizard says so); the test shows they are the only
// places. Settings and state files are 0600, their directories 0700.
import {existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, startCli} from '../helpers/cli.js';
import {requireTools, sh, tempDir} from '../helpers/tools.js';
import {makeVolume} from '../helpers/volumes.js';
import {filesUnder, launchSetup, STANDIN_LAUNCHER, TEST_SEED, waitFor, type LaunchSetup} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'bash', 'ps');
  tmp = tempDir('tdxw-rel-secret-');
});
afterAll(() => tmp?.remove());

/** Every 20-character piece of the seed: a partial leak counts too. */
const PIECES = Array.from({length: TEST_SEED.length - 19}, (_, i) => TEST_SEED.slice(i, i + 20));
function leaks(text: string): string[] {
  return PIECES.filter((p) => text.includes(p) || text.includes(p.toUpperCase()));
}
function expectNoSeed(where: string, text: string): void {
  expect(leaks(text), `${where} holds (part of) the seed`).toEqual([]);
}

/**
 * In front of the stand-in launcher: waits until the test has read the wizard's /proc, records its
 * own environment, prints its argv in two writes split in the middle of the seed (the wizard gets two
 * chunks), then runs the stand-in.
 */
function wrapper(dir: string): string {
  mkdirSync(dir, {recursive: true});
  const path = join(dir, 'run-tdx.sh');
  writeFileSync(path, `#!/bin/bash
echo $$ >'${dir}/ready.tmp' && mv '${dir}/ready.tmp' '${dir}/ready'
for ((i = 0; i < 400; i++)); do [ -e '${dir}/go' ] && break; sleep 0.05; done
tr '\\0' '\\n' </proc/$$/environ >'${dir}/launcher-environ'
args="$*"; before=\${args%%${TEST_SEED}*}; cut=$(( \${#before} + 32 ))
printf 'launcher argv: %s' "\${args:0:cut}"; sleep 0.3; printf '%s\\n' "\${args:cut}"
exec '${STANDIN_LAUNCHER}' "$@"
`, {mode: 0o755});
  return path;
}

for (const how of ['--miner-seed-file', 'TDX_MINER_SEED'] as const) {
  describe(`the seed given with ${how}`, () => {
    let launch: LaunchSetup;
    let dir: string;
    let wizardTmp: string;
    const shown: string[] = [];
    let cmdline = '';

    beforeAll(async () => {
      dir = join(tmp.path, how);
      mkdirSync(dir);
      launch = launchSetup(dir, (d, name) => makeVolume(d, name, {fs: 'ext4', label: 'tdx-cache', size: '64M'}));
      wizardTmp = join(dir, 'wizard-tmp');
      mkdirSync(wizardTmp);
      launch.env.TMPDIR = wizardTmp; // whatever temporary file the wizard makes lands here
      if (how === 'TDX_MINER_SEED') launch.env.TDX_MINER_SEED = TEST_SEED;
      const wrapDir = join(dir, 'wrap');
      const args = launch.args({launcher: wrapper(wrapDir), seed: how === 'TDX_MINER_SEED' ? 'none' : 'file'});
      expect(args.join(' ')).not.toContain(TEST_SEED);
      const run = startCli(args, {env: launch.env});
      await waitFor('the launcher to start', () => existsSync(join(wrapDir, 'ready')) || run.child.exitCode !== null);
      // While the wizard runs: its own command line.
      cmdline = readFileSync(`/proc/${run.child.pid}/cmdline`, 'utf8');
      writeFileSync(join(wrapDir, 'go'), '');
      const result = await run.done;
      shown.push(result.stdout, result.stderr);
      expect(result.code, result.stderr).toBe(0);
      for (const args of [['status'], ['logs'], ['--json', 'status'], ['launch', '--dry-run', ...launch.args({seed: how === 'TDX_MINER_SEED' ? 'none' : 'file'}).slice(1)]]) {
        const r = runCli(args, {env: launch.env});
        shown.push(r.stdout, r.stderr);
      }
    });

    afterAll(async () => {
      const r = runCli(['stop', '--yes', '--launcher', STANDIN_LAUNCHER], {env: launch.env});
      shown.push(r.stdout, r.stderr);
      await launch.stopVm();
    });

    it('not in what the wizard printed (launch, status, logs, a dry run), where it shows ********', () => {
      for (const text of shown) expectNoSeed('the output', text);
      expect(shown.join('')).toMatch(/--miner-seed '\*{8}'/); // the launcher command, as shown
      expect(shown.join('')).toMatch(/launcher argv: .*--miner-seed \*{8} /); // the launcher's own output, split mid-seed
    });

    it('not in the wizard\'s own command line while it ran', () => {
      expect(cmdline).toMatch(/cli\.js\0launch\0/);
      expectNoSeed('/proc/PID/cmdline of the wizard', cmdline);
    });

    it('not in the transcript, not anywhere in the state directory or the settings', () => {
      const files = [...filesUnder(launch.env.TDX_WIZARD_STATE_DIR!), ...filesUnder(launch.env.TDX_WIZARD_CONFIG_DIR!)];
      expect(files.some((f) => f.includes('/transcripts/'))).toBe(true);
      expect(files.some((f) => f.endsWith('config.json'))).toBe(true);
      for (const file of files) expectNoSeed(file, readFileSync(file, 'latin1'));
      const transcript = files.find((f) => /-launch-\d+\.log$/.test(f))!;
      expect(readFileSync(transcript, 'utf8')).toMatch(/launcher argv: .*--miner-seed \*{8} /);
      expect(JSON.parse(readFileSync(files.find((f) => f.endsWith('config.json'))!, 'utf8'))).not.toHaveProperty('minerSeed');
    });

    it('no temporary file of the wizard holds it', () => {
      for (const file of filesUnder(wizardTmp)) expectNoSeed(file, readFileSync(file, 'latin1'));
    });

    it('not handed on in the environment of the programs the wizard runs', () => {
      const environ = readFileSync(join(dir, 'wrap', 'launcher-environ'), 'utf8');
      expect(environ).toMatch(/^TDX_WIZARD_STATE_DIR=/m);
      expect(environ).not.toMatch(/^TDX_MINER_SEED=/m);
      expectNoSeed('the launcher\'s environment', environ);
    });

    it('the only copies are upstream\'s: the launcher\'s cloud-init file (removed by stop), as the wizard warned', () => {
      expect(shown.join('')).toMatch(/writes it in clear to \/tmp\/generated-user-data\.yaml/);
      expect(readFileSync(join(launch.run, 'generated-user-data.yaml'), 'utf8')).toContain(TEST_SEED);
    });

    it('settings and state files are 0600, their directories 0700', () => {
      for (const root of [launch.env.TDX_WIZARD_STATE_DIR!, launch.env.TDX_WIZARD_CONFIG_DIR!]) {
        expect(statSync(root).mode & 0o777, root).toBe(0o700);
        for (const file of filesUnder(root)) expect(statSync(file).mode & 0o777, file).toBe(0o600);
      }
      expect(statSync(join(launch.env.TDX_WIZARD_STATE_DIR!, 'transcripts')).mode & 0o777).toBe(0o700);
    });
  });
}

describe('TDX_MINER_SEED in the environment of a command that is not launch', () => {
  // A stand-in qemu-img first on PATH records its environment, then runs the real one.
  for (const args of [['create', '--force-small', 'vol.qcow2', '64M'], ['check', '--json'], ['resize', '--yes', 'made.qcow2', '+16M']]) {
    it(`${args[0]}: the programs it runs do not inherit it`, () => {
      const dir = join(tmp.path, `env-${args[0]}`);
      mkdirSync(join(dir, 'bin'), {recursive: true});
      makeVolume(dir, 'made.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'});
      const real = sh('bash', ['-c', 'command -v qemu-img']).trim();
      writeFileSync(join(dir, 'bin', 'qemu-img'), `#!/bin/bash\nenv >> '${dir}/environ'\nexec '${real}' "$@"\n`, {mode: 0o755});
      const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), CI: 'true', PATH: `${join(dir, 'bin')}:${process.env.PATH}`, TDX_MINER_SEED: TEST_SEED};
      runCli(args, {env, cwd: dir});
      const environ = readFileSync(join(dir, 'environ'), 'utf8'); // it ran qemu-img at least once
      expect(environ).toMatch(/^TDX_WIZARD_STATE_DIR=/m);
      expect(environ).not.toMatch(/^TDX_MINER_SEED=/m);
      expectNoSeed(`the environment of qemu-img under ${args[0]}`, environ);
    });
  }
});
