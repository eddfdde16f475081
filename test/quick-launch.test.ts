// The REAL upstream quick-launch.sh of E4 (kierr 52559611) and E5 (kierr c5a0b61), run as an
// operator would run it with the config.yaml `tdx-wizard quick-launch-config` writes for a set the
// wizard prepared: it passes upstream's own schema (their parse-config.py / chutes_host.config and
// the wizard's ajv), quick-launch.sh reuses every volume and the config volume (create-config.sh is
// never run, so the seed is on no command line), and its ./run-td launches the stand-in QEMU with
// each volume in the right format and the config volume read-only. Network user: setup-bridge.sh
// would change this machine's network. Stand-ins (test/fixtures/run-td-bin, first on the PATH) as in
// test/run-td.test.ts, plus a dmesg that says what a TDX host's kernel log says. Everything runs in a
// private /tmp (run-td hard-codes /tmp/tdx-td-pid.pid).
import {spawnSync} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {closeNs, nsCli, nsPid, nsRun} from './helpers/ns-cli.js';
import {privateTmp, type PrivateTmp} from './helpers/private-tmp.js';
import {requireTools, sh} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';
import {configVolume} from './helpers/guest-volumes.js';
import {processAlive} from '../src/vm/pid.js';

const UPSTREAM = resolve('../shared/upstream');
const ERAS = {
  E4: {dir: '2026-02_doc-era_kierr-5255961', parser: ['python3', 'parse-config.py']},
  E5: {dir: '2026-02_raw_kierr-c5a0b61', parser: ['python3', '-m', 'chutes_host.config']},
} as const;
type EraName = keyof typeof ERAS;
// Not the seed of any other test: a hit while polling /proc can only come from this test.
const SEED = '5c0ffee1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d';

let root: string;
let ns: PrivateTmp;
let env: NodeJS.ProcessEnv;
const bin = () => join(root, 'bin');
const scripts = (era: EraName) => join(root, era, 'host-tools/scripts');
const vols = (era: EraName) => join(root, `vols-${era}`);

beforeAll(async () => {
  requireTools('qemu-img', 'python3', 'setsid', 'mkfs.ext4');
  if (!existsSync(UPSTREAM)) throw new Error(`${UPSTREAM} is missing: the tests need shared/upstream beside the checkout`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
  const py = spawnSync('python3', ['-c', 'import yaml, jsonschema'], {encoding: 'utf8'});
  if (py.status !== 0) throw new Error(`quick-launch.sh's config parser needs PyYAML and jsonschema: apt-get install python3-yaml python3-jsonschema (${py.stderr.trim()})`);
  root = mkdtempSync('/var/tmp/tdxw-quick-launch-');
  ns = await privateTmp();
  cpSync(resolve('test/fixtures/run-td-bin'), bin(), {recursive: true, verbatimSymlinks: true});
  // A TDX host's kernel log, for quick-launch.sh's Step 0 (sudo dmesg | grep -i tdx).
  writeFileSync(join(bin(), 'dmesg'), '#!/bin/sh\n# Stand-in dmesg: the line a TDX host kernel prints once its TDX module is up.\necho "[    2.345678] virt/tdx: module initialized"\n', {mode: 0o755});
  for (const [era, {dir}] of Object.entries(ERAS)) {
    cpSync(join(UPSTREAM, dir, 'host-tools/scripts'), scripts(era as EraName), {recursive: true});
    sh('chmod', ['-R', 'u+w', join(root, era)]);
    mkdirSync(join(root, era, 'firmware'));
    writeFileSync(join(root, era, 'firmware/TDVF.fd'), 'stand-in firmware\n');
    // The set as prepare makes it: E4 qcow2, E5 raw data volumes; the config volume with the seed.
    const fmt = era === 'E5' ? 'raw' : 'qcow2';
    mkdirSync(vols(era as EraName));
    makeVolume(vols(era as EraName), `cache-miner-01.${fmt}`, {fs: 'ext4', label: 'tdx-cache', size: '64M', format: fmt});
    makeVolume(vols(era as EraName), `storage-miner-01.${fmt}`, {fs: 'ext4', label: 'storage', size: '64M', format: fmt});
    configVolume(vols(era as EraName), 'config-miner-01.qcow2', {seed: SEED, hostname: 'miner-01'});
  }
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'tdx-guest.qcow2'), '1G']);
  env = {PATH: `${bin()}:${process.env.PATH}`, TDX_WIZARD_STATE_DIR: join(root, 'state'), TDX_WIZARD_CONFIG_DIR: join(root, 'config')};
}, 120_000);

afterAll(() => closeNs(ns, root));

describe.sequential('the real quick-launch.sh with the config tdx-wizard writes', () => {
  for (const era of Object.keys(ERAS) as EraName[]) {
    it(`${era}: passes upstream's schema, reuses the set and the config volume, launches run-td; the seed on no command line`, async () => {
      const cfg = join(root, `config-${era}.yaml`);
      const made = await nsCli(ns, env, SEED, ['--json', 'quick-launch-config', '--launcher', join(scripts(era), 'quick-launch.sh'), '--dir', vols(era), '--hostname', 'miner-01', '--image', join(root, 'tdx-guest.qcow2'), '--network-type', 'user', '--out', cfg]);
      expect(made.code, made.stderr).toBe(0);
      const text = readFileSync(cfg, 'utf8');
      expect(text).not.toContain(SEED);
      expect(readFileSync(cfg).length).toBeGreaterThan(0);
      // Upstream's own parser and schema take it.
      const parsed = spawnSync(ERAS[era].parser[0], [...ERAS[era].parser.slice(1), cfg], {cwd: scripts(era), encoding: 'utf8'});
      expect(parsed.status, parsed.stdout + parsed.stderr).toBe(0);
      // And the shipped template does not (so the check above can fail).
      const template = existsSync(join(scripts(era), 'config.tmpl.yaml')) ? join(scripts(era), 'config.tmpl.yaml') : join(scripts(era), 'config/config.tmpl.yaml');
      expect(spawnSync(ERAS[era].parser[0], [...ERAS[era].parser.slice(1), template], {cwd: scripts(era), encoding: 'utf8'}).status).not.toBe(0);

      const run = await nsRun(ns, env, SEED, ['bash', '-c', 'cd "$1" && exec ./quick-launch.sh "$2"', '-', scripts(era), cfg]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Using existing cache volume/);
      expect(run.stdout).toMatch(/Using existing storage volume/);
      expect(run.stdout).toContain(`✓ Using existing config volume: ${join(vols(era), 'config-miner-01.qcow2')}`);
      expect(run.seedSeen).toEqual([]);
      const calls = existsSync(join(bin(), 'calls')) ? readFileSync(join(bin(), 'calls'), 'utf8') : '';
      expect(calls).not.toMatch(/create-config|create-cache/);
      const argv = readFileSync(join(bin(), 'qemu-argv'), 'utf8').split('\0');
      const drives = argv.filter((_, i, all) => all[i - 1] === '-drive');
      const fmt = era === 'E5' ? 'raw' : 'qcow2';
      expect(drives.find((d) => d.includes(`cache-miner-01.${fmt}`))).toMatch(new RegExp(`format=${fmt}`));
      expect(drives.find((d) => d.includes(`storage-miner-01.${fmt}`))).toMatch(new RegExp(`format=${fmt}`));
      expect(drives.find((d) => d.includes('config-miner-01.qcow2'))).toMatch(/format=qcow2.*readonly=on/);
      expect(argv.join(' ')).not.toContain(SEED);
      const pid = nsPid(ns);
      expect(pid && processAlive(pid)).toBe(true);
      // Stopped as the wizard stops run-td's VM: run-td --clean from its directory.
      const stop = await nsRun(ns, env, SEED, ['bash', '-c', 'cd "$1" && exec python3 ./run-td --clean', '-', scripts(era)]);
      expect(stop.code, stop.stderr).toBe(0);
      expect(pid && processAlive(pid)).toBe(false);
    }, 120_000);
  }

  it('bad input: a set that is not there: exit 2 with a fix, nothing written', async () => {
    const out = join(root, 'never.yaml');
    const missing = await nsCli(ns, env, SEED, ['quick-launch-config', '--launcher', join(scripts('E4'), 'quick-launch.sh'), '--dir', join(root, 'nowhere'), '--hostname', 'miner-01', '--image', join(root, 'tdx-guest.qcow2'), '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist: quick-launch.sh would make it itself/);
    expect(missing.stderr).toMatch(/fix: tdx-wizard prepare/);
    expect(existsSync(out)).toBe(false);
  });
});
