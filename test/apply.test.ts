// tdx-wizard apply on real volumes and the stand-in E1 launcher: from an empty directory to a set
// and a running stand-in VM, a second apply with nothing to do, --check on a host that differs in
// each way, and upstream's quick-launch.sh config.yaml read as it is (checked by the schema beside
// the real upstream launcher, in the schema's own words).
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from './helpers/cli.js';
import {alive, STANDIN_LAUNCHER, TEST_SEED, TEST_SS58} from './helpers/reliability.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';

const UPSTREAM_E4 = resolve('../shared/upstream/2026-02_doc-era_kierr-5255961/host-tools/scripts');
let tmp: ReturnType<typeof tempDir>;
let n = 0;
const vms: number[] = [];

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs', 'bash');
  if (!existsSync(UPSTREAM_E4)) throw new Error(`${UPSTREAM_E4} is missing: the tests need shared/upstream beside the checkout`);
  tmp = tempDir('tdxw-apply-');
});
afterAll(() => {
  for (const pid of vms) if (alive(pid)) process.kill(pid, 'SIGTERM');
  tmp?.remove();
});

/** A host of its own: the stand-in launcher, a guest image, a seed file, and the VM's files in run/. */
function host() {
  const dir = join(tmp.path, `host-${++n}`);
  mkdirSync(join(dir, 'run'), {recursive: true});
  copyFileSync(STANDIN_LAUNCHER, join(dir, 'run-tdx.sh'));
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'guest.qcow2'), '16M']);
  writeFileSync(join(dir, 'seed'), `${TEST_SEED}\n`, {mode: 0o600});
  const env = {
    TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), TDX_WIZARD_LAYOUT_ROOT: join(dir, 'root'),
    TDX_WIZARD_PID_FILE: join(dir, 'run/vm.pid'), TDX_WIZARD_SERIAL_LOG: join(dir, 'run/serial.log'), FAKE_TDX_TMP: join(dir, 'run'), FAKE_TDX_STEP: '0.01', CI: 'true',
  };
  return {dir, env};
}

const describeHost = (vm: 'running' | 'stopped', size = '64M') =>
  [
    'tdx_wizard: 1', 'era: E1', 'launcher: ./run-tdx.sh', 'dir: ./volumes', 'hostname: miner-01', 'image: ./guest.qcow2', `volumes: {cache: ${size}}`, 'force_small: true',
    `miner: {ss58: ${TEST_SS58}, seed_file: ./seed}`, 'network: {type: user, vm_ip: 10.0.2.15, vm_gateway: 10.0.2.2}', `vm: ${vm}`,
  ].join('\n');

function apply(h: ReturnType<typeof host>, text: string, ...flags: string[]) {
  writeFileSync(join(h.dir, 'host.yaml'), text);
  const r = runCli(['apply', '--json', ...flags, join(h.dir, 'host.yaml')], {env: h.env});
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return {...r, last: lines.at(-1)!, lines};
}

describe('apply', () => {
  it('from an empty directory to the set and a running VM; a second apply changes nothing; --json ends with the result', () => {
    const h = host();
    const first = apply(h, describeHost('running'));
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.last).toMatchObject({type: 'result', changed: true, check: false, era: 'E1'});
    expect((first.last.actions as Array<{what: string}>).map((a) => a.what)).toEqual([`create the cache volume ${join(h.dir, 'volumes/cache-miner-01.qcow2')}`, `launch the VM with ${join(h.dir, 'run-tdx.sh')}`]);
    const pid = Number(readFileSync(join(h.dir, 'run/vm.pid'), 'utf8'));
    vms.push(pid);
    expect(alive(pid)).toBe(true);
    expect(runCli(['verify', join(h.dir, 'volumes/cache-miner-01.qcow2')], {env: h.env}).code).toBe(0);
    // The seed went by its file's path, never as an argument nor in a file the wizard wrote.
    expect(JSON.stringify(first.lines)).not.toContain(TEST_SEED);
    const second = apply(h, describeHost('running'));
    expect(second.code, second.stderr).toBe(0);
    expect(second.last).toMatchObject({type: 'result', changed: false, actions: []});
    expect(Number(readFileSync(join(h.dir, 'run/vm.pid'), 'utf8'))).toBe(pid);
    // vm: stopped stops it.
    const stopped = apply(h, describeHost('stopped'));
    expect(stopped.last).toMatchObject({changed: true});
    expect(existsSync(join(h.dir, 'run/vm.pid'))).toBe(false);
  });

  it('--check on a host that differs in each way prints the plan and changes nothing', () => {
    const h = host();
    // a missing volume and a stopped VM
    const before = snapshot(h.dir);
    const plan = apply(h, describeHost('running'), '--check');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.last).toMatchObject({changed: false, check: true});
    expect((plan.last.actions as Array<{what: string; why: string}>).map((a) => `${a.what}: ${a.why}`)).toEqual([
      `create the cache volume ${join(h.dir, 'volumes/cache-miner-01.qcow2')}: it does not exist`,
      `launch the VM with ${join(h.dir, 'run-tdx.sh')}: it is not running (absent)`,
    ]);
    expect(snapshot(h.dir).filter((l) => !l.includes('host.yaml') && !l.includes('/state') && !l.includes('/config'))).toEqual(before.filter((l) => !l.includes('/state') && !l.includes('/config')));
    // a smaller volume: grown (planned only with --check)
    mkdirSync(join(h.dir, 'volumes'));
    makeVolume(join(h.dir, 'volumes'), 'cache-miner-01.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'});
    const grow = apply(h, describeHost('stopped', '128M'), '--check');
    expect((grow.last.actions as Array<{what: string}>).map((a) => a.what)).toEqual([`grow the cache volume ${join(h.dir, 'volumes/cache-miner-01.qcow2')} to 128M`]);
    expect(runCli(['inspect', '--json', join(h.dir, 'volumes/cache-miner-01.qcow2')], {env: h.env}).stdout).toMatch(/"virtualSize":67108864/);
    const grown = apply(h, describeHost('stopped', '128M'));
    expect(grown.last).toMatchObject({changed: true});
    expect(runCli(['inspect', '--json', join(h.dir, 'volumes/cache-miner-01.qcow2')], {env: h.env}).stdout).toMatch(/"virtualSize":134217728/);
    // a wrong label: refused with its fix (exit 2), in --check and without; nothing changed
    makeVolume(join(h.dir, 'volumes'), 'wrong.qcow2', {fs: 'ext4', label: 'models', size: '64M'});
    sh('mv', [join(h.dir, 'volumes/wrong.qcow2'), join(h.dir, 'volumes/cache-miner-01.qcow2')]);
    const wrong = snapshot(join(h.dir, 'volumes'));
    for (const flags of [['--check'], []]) {
      const r = apply(h, describeHost('stopped'), ...flags);
      expect(r.code).toBe(2);
      expect(r.last).toMatchObject({type: 'error', kind: 'bad-input', message: expect.stringMatching(/^prepare: .*models/), fix: expect.stringMatching(/relabel/)});
    }
    expect(snapshot(join(h.dir, 'volumes'))).toEqual(wrong);
  });

  it('bad descriptions: exit 2 with what is wrong in the schema\'s words, nothing changed', () => {
    const h = host();
    const cases: Array<[string, RegExp]> = [
      ['tdx_wizard: 1\nhostname: m1\nvolume: {cache: 1G}', /must NOT have additional properties \(volume\)/],
      ['tdx_wizard: 1\nhostname: m1\nvm: sleeping', /\/vm must be equal to one of the allowed values \(running, stopped\)/],
      ['tdx_wizard: 1\nhostname: m1\nminer: {seed_env: "1BAD"}', /\/miner\/seed_env must match pattern/],
      ['tdx_wizard: 1\nhostname: [m1', /is not valid YAML/],
      ['tdx_wizard: 1\nhostname: m1\nminer: {seed_env: TDXW_NOT_SET_ANYWHERE}', /names the seed by the variable TDXW_NOT_SET_ANYWHERE, which is not set/],
    ];
    for (const [text, message] of cases) {
      const before = snapshot(h.dir).filter((l) => !l.includes('host.yaml'));
      const r = apply(h, text);
      expect(r.code, text).toBe(2);
      expect(r.last, text).toMatchObject({type: 'error', message: expect.stringMatching(message), fix: expect.any(String)});
      expect(snapshot(h.dir).filter((l) => !l.includes('host.yaml')), text).toEqual(before);
    }
  });
});

describe("upstream's quick-launch.sh config.yaml, as it is", () => {
  const quickLaunch = join(UPSTREAM_E4, 'quick-launch.sh');
  it('the shipped template is refused as upstream refuses it (vm.image is empty), in the schema\'s words', () => {
    const h = host();
    const template = readFileSync(join(UPSTREAM_E4, 'config.tmpl.yaml'), 'utf8');
    const r = apply(h, `${template}\ntdx_wizard: {launcher: ${quickLaunch}}\n`, '--check');
    expect(r.code).toBe(2);
    expect(String(r.last.message)).toMatch(/does not pass \S+config-schema\.json: \/vm\/image must NOT have fewer than 1 characters/);
  });

  it('a filled-in config.yaml is planned as the E4 set it describes; a seed in clear in it is refused', () => {
    const h = host();
    const config = (seed: string) =>
      [
        'vm: {hostname: miner-02, image: ./guest.qcow2}',
        `miner: {ss58: ${TEST_SS58}, seed: "${seed}"}`,
        'network: {vm_ip: 192.168.100.2, bridge_ip: 192.168.100.1/24, dns: 8.8.8.8, public_interface: eth0, type: tap}',
        'volumes: {cache: {size: 200G, path: ./volumes/cache-miner-02.qcow2}, storage: {size: 100G, path: ./volumes/storage-miner-02.qcow2}, config: {path: ./volumes/config-miner-02.qcow2}}',
        `tdx_wizard: {launcher: ${quickLaunch}, miner: {seed_file: ./seed}}`,
      ].join('\n');
    const r = apply(h, config('in-the-seed-file'), '--check');
    expect(r.code, JSON.stringify(r.last)).toBe(0);
    expect(r.last).toMatchObject({check: true, era: 'E4', shape: 'quick-launch', hostname: 'miner-02'});
    expect((r.last.actions as Array<{what: string}>).map((a) => a.what)).toEqual(['cache', 'storage', 'config'].map((role) => `create the ${role} volume ${join(h.dir, `volumes/${role}-miner-02.qcow2`)}`));
    expect(existsSync(join(h.dir, 'volumes'))).toBe(false);
    const clear = apply(h, config(TEST_SEED), '--check');
    expect(clear.code).toBe(2);
    expect(String(clear.last.message)).toMatch(/holds the miner seed in clear \(miner\.seed\)/);
    expect(JSON.stringify(clear.lines)).not.toContain(TEST_SEED);
    expect(readdirSync(h.dir)).not.toContain('volumes');
  });
});
