// The Ansible role (deploy/ansible) run for real with Debian's ansible-core against this machine
// (connection: local): it installs the wizard, puts a host description and its seed in place and
// runs apply. Twice (the second run reports no change) and once in check mode (apply --check:
// nothing changes). The description is for the stand-in E1 launcher, so the VM it starts is the
// stand-in's, in the test's own directory.
import {spawnSync} from 'node:child_process';
import {copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {alive, STANDIN_LAUNCHER, TEST_SEED, TEST_SS58} from './helpers/reliability.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const ANSIBLE = resolve('deploy/ansible');
let tmp: ReturnType<typeof tempDir>;
let inventory: string;

beforeAll(() => {
  requireTools('ansible-playbook', 'qemu-img', 'mkfs.ext4');
  tmp = tempDir('tdxw-ansible-');
  const d = tmp.path;
  mkdirSync(join(d, 'run'));
  copyFileSync(STANDIN_LAUNCHER, join(d, 'run-tdx.sh'));
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(d, 'guest.qcow2'), '16M']);
  writeFileSync(join(d, 'controller.seed'), `${TEST_SEED}\n`, {mode: 0o600});
  writeFileSync(
    join(d, 'host.yaml'),
    [
      'tdx_wizard: 1', 'era: E1', `launcher: ${d}/run-tdx.sh`, `dir: ${d}/volumes`, 'hostname: miner-01', `image: ${d}/guest.qcow2`, 'volumes: {cache: 64M}', 'force_small: true',
      `miner: {ss58: ${TEST_SS58}, seed_file: ./miner.seed}`, 'network: {type: user, vm_ip: 10.0.2.15, vm_gateway: 10.0.2.2}', 'vm: running',
    ].join('\n'),
  );
  const env = {
    TDX_WIZARD_STATE_DIR: `${d}/state`, TDX_WIZARD_CONFIG_DIR: `${d}/config`, TDX_WIZARD_LAYOUT_ROOT: `${d}/root`, TDX_WIZARD_PID_FILE: `${d}/run/vm.pid`,
    TDX_WIZARD_SERIAL_LOG: `${d}/run/serial.log`, FAKE_TDX_TMP: `${d}/run`, FAKE_TDX_STEP: '0.01', CI: 'true',
  };
  inventory = join(d, 'inventory.json');
  writeFileSync(
    inventory,
    JSON.stringify({
      tdx_hosts: {
        hosts: {
          localhost: {
            ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', ansible_become: false,
            tdx_wizard_dist: resolve('dist'), tdx_wizard_dest: `${d}/opt`, tdx_wizard_link: `${d}/bin/tdx-wizard`, tdx_wizard_config_dir: `${d}/etc`,
            tdx_wizard_host_file: `${d}/host.yaml`, tdx_wizard_seed_file: `${d}/controller.seed`, tdx_wizard_environment: env,
          },
        },
      },
    }),
  );
  mkdirSync(join(d, 'bin'));
});
afterAll(() => {
  const pidFile = join(tmp.path, 'run/vm.pid');
  if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
  tmp?.remove();
});

function play(...flags: string[]): {code: number | null; out: string; changed: number} {
  const r = spawnSync('ansible-playbook', ['-i', inventory, join(ANSIBLE, 'site.yml'), ...flags], {encoding: 'utf8', env: {...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_HOST_KEY_CHECKING: 'false', ANSIBLE_LOCALHOST_WARNING: 'false'}, timeout: 300_000});
  const out = r.stdout + r.stderr;
  const recap = /localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0/.exec(out);
  return {code: r.status, out, changed: recap ? Number(recap[1]) : -1};
}

describe('deploy/ansible: the tdx_wizard role', () => {
  it('first run: installs, copies the description and seed (0600, never logged), applies (changed); second run: no change; check mode: no change', () => {
    const first = play();
    expect(first.code, first.out).toBe(0);
    expect(first.changed, first.out).toBeGreaterThan(0);
    expect(first.out).toMatch(/TASK \[tdx_wizard : Bring the host to its description \(tdx-wizard apply\)\] \*+\nchanged: \[localhost\]/);
    expect(first.out).not.toContain(TEST_SEED);
    const etc = join(tmp.path, 'etc');
    expect(statSync(join(etc, 'miner.seed')).mode & 0o777).toBe(0o600);
    expect(statSync(etc).mode & 0o777).toBe(0o700);
    const pid = Number(readFileSync(join(tmp.path, 'run/vm.pid'), 'utf8'));
    expect(alive(pid)).toBe(true);
    expect(existsSync(join(tmp.path, 'volumes/cache-miner-01.qcow2'))).toBe(true);

    const second = play();
    expect(second.code, second.out).toBe(0);
    expect(second.changed, second.out).toBe(0);
    expect(Number(readFileSync(join(tmp.path, 'run/vm.pid'), 'utf8'))).toBe(pid);

    // Check mode after the description changed (a bigger cache): apply --check plans the grow, nothing changes.
    writeFileSync(join(tmp.path, 'host.yaml'), readFileSync(join(tmp.path, 'host.yaml'), 'utf8').replace('cache: 64M', 'cache: 128M'));
    const before = statSync(join(tmp.path, 'volumes/cache-miner-01.qcow2')).mtimeMs;
    const check = play('--check', '--diff');
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/grow the cache volume \S+cache-miner-01\.qcow2 to 128M/);
    expect(statSync(join(tmp.path, 'volumes/cache-miner-01.qcow2')).mtimeMs).toBe(before);
    expect(readFileSync(join(tmp.path, 'etc/host.yaml'), 'utf8')).toContain('cache: 64M'); // the copy was only shown
  }, 900_000); // three plays of ansible-playbook, each 20-60 s on two busy cores
});
