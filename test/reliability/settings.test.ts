// A corrupt settings file (config.json with garbage): every path that reads the settings starts
// from the defaults, keeps the broken file aside (never silently lost), and says so. The file that
// is written next is 0600 (a new settings directory is 0700: test/reliability/secrets.test.ts).
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from '../helpers/cli.js';
import {requireTools, tempDir} from '../helpers/tools.js';
import {makeVolume} from '../helpers/volumes.js';
import {launchSetup, STANDIN_LAUNCHER, type LaunchSetup} from '../helpers/reliability.js';

const GARBAGE = '{"launcherPath": "/opt/run-tdx.sh", \u0000\u0007 not json at all';

let tmp: ReturnType<typeof tempDir>;
let launch: LaunchSetup;
let config: string;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'bash', 'ps');
  tmp = tempDir('tdxw-rel-settings-');
  launch = launchSetup(tmp.path, (d, name) => makeVolume(d, name, {fs: 'ext4', label: 'tdx-cache', size: '64M'}));
  config = launch.env.TDX_WIZARD_CONFIG_DIR!;
});
afterEach(async () => launch.stopVm());
afterAll(() => tmp?.remove());

function corrupt(): void {
  mkdirSync(config, {recursive: true, mode: 0o700});
  writeFileSync(join(config, 'config.json'), GARBAGE, {mode: 0o600});
}

/** The broken files kept aside, with their content. */
function keptAside(): string[] {
  return readdirSync(config).filter((f) => f.startsWith('config.json.broken-')).map((f) => readFileSync(join(config, f), 'utf8'));
}

const NOTICE = /warning: the settings file could not be read \([^)]*\); it was moved to \S+config\.json\.broken-\S+ and the defaults are used/;

describe('a corrupt settings file', () => {
  it('launch: goes ahead with the defaults, says so, keeps the broken file, writes a good 0600 file', () => {
    corrupt();
    const r = runCli(launch.args(), {env: launch.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(NOTICE);
    expect(r.stderr.match(/settings file could not be read/g)).toHaveLength(1);
    expect(keptAside()).toEqual([GARBAGE]);
    const written = join(config, 'config.json');
    expect(JSON.parse(readFileSync(written, 'utf8'))).toMatchObject({launcherPath: STANDIN_LAUNCHER});
    expect(statSync(written).mode & 0o777).toBe(0o600);
  });

  it('stop (the launcher found through the settings): says so, keeps the broken file, uses ./run-tdx.sh', () => {
    expect(runCli(launch.args(), {env: launch.env}).code).toBe(0);
    corrupt();
    const cwd = join(tmp.path, 'cwd');
    mkdirSync(cwd, {recursive: true});
    copyFileSync(STANDIN_LAUNCHER, join(cwd, 'run-tdx.sh'));
    const r = runCli(['stop', '--yes'], {env: launch.env, cwd});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(NOTICE);
    expect(r.stderr).toMatch(/fix: nothing to fix for this run; the broken file is kept/);
    expect(r.stdout).toMatch(/^Stopped the VM \(pid \d+\)\./);
    expect(keptAside()).toContain(GARBAGE);
  });

  it('--json: the notice is a warning event', () => {
    corrupt();
    const r = runCli(['--json', ...launch.args()], {env: launch.env});
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.type === 'warning' && /settings file could not be read/.test(String(e.message)))).toBeDefined();
  });

  it('the interactive wizard: starts with the defaults and shows the notice', async () => {
    corrupt();
    const saved = process.env.TDX_WIZARD_CONFIG_DIR;
    process.env.TDX_WIZARD_CONFIG_DIR = config;
    try {
      const {WizardController} = await import('../../src/wizard/controller.js');
      const controller = new WizardController({transcript: false});
      expect(controller.settingsLoaded).toBe(false); // not before the wizard asks
      await controller.loadSettings();
      expect(controller.settings.get('volumeSize')).toBe('5000G');
      expect(controller.settings.get('launcherPath')).toBeUndefined();
      expect(controller.store.getState().messages).toContainEqual({level: 'warn', text: expect.stringMatching(/settings file could not be read.*moved to .*config\.json\.broken-/)});
    } finally {
      process.env.TDX_WIZARD_CONFIG_DIR = saved;
    }
    expect(keptAside()).toContain(GARBAGE);
    expect(existsSync(join(config, 'config.json'))).toBe(true);
  });
});
