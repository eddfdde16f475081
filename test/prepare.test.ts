// prepare: every volume an era's guest needs, in one run; reuse what passes, refuse what does not,
// change nothing the second time.
import {randomBytes} from 'node:crypto';
import {mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot, startCli} from './helpers/cli.js';
import {requireTools, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';
import {failingTool, watchProcesses} from './helpers/reliability.js';

const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const SEED = 'ab'.repeat(32);
let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let seedFile: string;
/** A seed of this file's own, for the leak search: other files run with theirs at the same time. */
const OWN_SEED = randomBytes(32).toString('hex');
let ownSeedFile: string;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'mkfs.xfs', 'debugfs', 'blkid');
  tmp = tempDir('tdxw-prep-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
  seedFile = join(tmp.path, 'seed');
  writeFileSync(seedFile, `${SEED}\n`, {mode: 0o600});
  ownSeedFile = join(tmp.path, 'own-seed');
  writeFileSync(ownSeedFile, `${OWN_SEED}\n`, {mode: 0o600});
});
afterAll(() => tmp.remove());

function fresh(name: string): string {
  const d = join(tmp.path, name);
  mkdirSync(d);
  return d;
}

const small = ['--force-small', '--cache-size', '1G', '--storage-size', '1G', '--containerd-size', '1G'];
const config = () => ['--miner-ss58', SS58, '--miner-seed-file', seedFile];

function result(args: string[]) {
  const r = runCli([...args, '--json'], {env});
  const events = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return {code: r.code, stderr: r.stderr, result: events.find((e) => e.type === 'result') as Record<string, unknown> | undefined};
}

describe('prepare', () => {
  it('makes the whole E4 set (cache, storage, config), then a second run changes nothing', () => {
    const d = fresh('e4');
    const first = result(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm1', ...small, ...config()]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.result).toMatchObject({changed: true, era: 'E4'});
    expect(readdirSync(d).sort()).toEqual(['cache-m1.qcow2', 'config-m1.qcow2', 'storage-m1.qcow2']);
    for (const f of readdirSync(d)) expect(statSync(join(d, f)).mode & 0o777).toBe(0o600);
    expect(runCli(['verify', '--dir', d, '--hostname', 'm1', '--era', 'E4'], {env}).code).toBe(0);
    const before = snapshot(d);
    const second = result(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm1', ...small, ...config()]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.result).toMatchObject({changed: false});
    expect(snapshot(d)).toEqual(before);
    const text = runCli(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm1', ...small], {env});
    expect(text.stdout).toMatch(/nothing to do/);
  });
  it('rewrites the config volume in place when the values given differ (network, seed), and only it', () => {
    const d = fresh('refresh');
    const args = ['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm8', ...small, ...config()];
    expect(result(args).code).toBe(0);
    const data = snapshot(d).filter((l) => !l.includes('config-m8'));
    const changed = result([...args, '--vm-ip', '192.168.100.7']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.result).toMatchObject({changed: true});
    expect((changed.result!.volumes as Array<{role: string; action: string; changed?: string[]}>).find((v) => v.role === 'config')).toMatchObject({action: 'refresh', changed: ['network-config.yaml']});
    expect(snapshot(d).filter((l) => !l.includes('config-m8'))).toEqual(data);
    const inspected = result(['inspect', join(d, 'config-m8.qcow2'), '--role', 'config']);
    expect(inspected.result).toMatchObject({verdict: 'ready'});
    const otherSeed = join(tmp.path, 'seed-2');
    writeFileSync(otherSeed, `${'cd'.repeat(32)}\n`, {mode: 0o600});
    const reseeded = result(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm8', ...small, '--miner-ss58', SS58, '--miner-seed-file', otherSeed, '--vm-ip', '192.168.100.7']);
    expect((reseeded.result!.volumes as Array<{role: string; changed?: string[]}>).find((v) => v.role === 'config')?.changed).toEqual(['miner-seed']);
    expect(JSON.stringify(reseeded.result)).not.toContain('cd'.repeat(32));
    expect(result([...args.slice(0, -4), '--miner-ss58', SS58, '--miner-seed-file', otherSeed, '--vm-ip', '192.168.100.7']).result).toMatchObject({changed: false});
  });
  it('E5 makes raw data volumes named .raw and a qcow2 config volume', () => {
    const d = fresh('e5');
    const r = result(['prepare', '--era', 'E5', '--dir', d, '--hostname', 'm5', ...small, ...config()]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(d).sort()).toEqual(['cache-m5.raw', 'config-m5.qcow2', 'storage-m5.raw']);
    expect(runCli(['verify', '--dir', d, '--hostname', 'm5', '--era', 'E5'], {env}).code).toBe(0);
  });
  it('E6 makes raw XFS data volumes', () => {
    const d = fresh('e6');
    const r = result(['prepare', '--era', 'E6', '--dir', d, '--hostname', 'm6', ...small, ...config()]);
    expect(r.code, r.stderr).toBe(0);
    const vols = r.result!.volumes as Array<{role: string; fs?: string}>;
    expect(vols.filter((v) => v.role !== 'config').map((v) => v.fs)).toEqual(['xfs', 'xfs']);
    expect(runCli(['verify', '--dir', d, '--hostname', 'm6', '--era', 'E6'], {env}).code).toBe(0);
  });
  it('E1 needs only the cache volume and no config values', () => {
    const d = fresh('e1');
    const r = result(['prepare', '--era', 'E1', '--dir', d, '--hostname', 'm0', ...small]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(d)).toEqual(['cache-m0.qcow2']);
  });
  it('reuses a good existing volume and refuses a wrong one before changing anything', () => {
    const d = fresh('mixed');
    makeVolume(d, 'cache-m2.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    makeVolume(d, 'storage-m2.qcow2', {fs: 'ext4', label: 'tdx-cache-storag'});
    const before = snapshot(d);
    const r = runCli(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm2', ...small, ...config()], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/storage volume .*storage-m2\.qcow2.*looks for "storage"/);
    expect(r.stderr).toMatch(/fix: tdx-wizard relabel .*storage-m2\.qcow2 --role storage/);
    expect(snapshot(d)).toEqual(before);
  });
  it('a reused volume smaller than the size asked is named, with how to grow it, not silently reused', () => {
    const d = fresh('smaller');
    makeVolume(d, 'cache-m5.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const r = runCli(['prepare', '--era', 'E1', '--dir', d, '--hostname', 'm5', '--cache-size', '200G', '--force-small'], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/reuse .*cache-m5\.qcow2 .*smaller than the 200G asked: reused as it is \(to grow it: tdx-wizard resize \S*cache-m5\.qcow2 200G\)/);
  });
  it('bad input: exit 2, a message and a fix, nothing on disk', () => {
    const d = fresh('bad');
    const cases: Array<[string[], RegExp]> = [
      [['--hostname', 'Miner1'], /not a hostname the guest accepts[\s\S]*--hostname miner1/],
      [['--hostname', 'a'.repeat(64)], /64 characters; the guest accepts at most 63/],
      [['--hostname', 'm3', '--era', 'E4'], /miner-ss58|seed/],
      [['--hostname', 'm3', '--era', 'E4', '--fs', 'xfs', ...config()], /mounts its cache volume as ext4/],
      [['--hostname', 'm3', '--era', 'E9'], /unknown era/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['prepare', '--dir', d, ...small, ...args], {env});
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/fix: /);
      expect(readdirSync(d)).toEqual([]);
    }
  });
  it('the seed is in no process argv or environment while prepare runs, and in no file of the set but the config volume', async () => {
    const d = fresh('leak');
    const run = startCli(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm7', ...small, '--miner-ss58', SS58, '--miner-seed-file', ownSeedFile], {env});
    const {seen, scans} = await watchProcesses(run.child, (text) => text.includes(OWN_SEED));
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(scans).toBeGreaterThan(10);
    expect(seen).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain(OWN_SEED);
    const holding = readdirSync(d).filter((f) => readFileSync(join(d, f), 'latin1').includes(OWN_SEED));
    expect(holding).toEqual(['config-m7.qcow2']);
    expect(readdirSync('/dev/shm').filter((e) => e.startsWith(`tdx-wizard-config-${run.child.pid}-`))).toEqual([]);
  });
  it('a part that fails while the others run beside it: exit 1 with its words, its half-made file gone, nothing left in memory', () => {
    const d = fresh('fail');
    const bin = join(tmp.path, 'bin-fail');
    failingTool(bin, 'mkfs.ext4', 'mkfs.ext4: broken on purpose', {when: '[[ " $* " == *" storage "* ]]'});
    const r = runCli(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm9', ...small, ...config()], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/broken on purpose/);
    // The storage volume's reservation and work directory are undone; the other parts, which ran
    // beside it, are either complete (and reused by the next run) or undone too: never half-made.
    const left = readdirSync(d);
    expect(left.filter((f) => f.startsWith('.') || f.startsWith('storage-'))).toEqual([]);
    for (const f of left) expect(runCli(['verify', join(d, f), '--role', f.split('-')[0]!], {env}).code, f).toBe(0);
    const again = result(['prepare', '--era', 'E4', '--dir', d, '--hostname', 'm9', ...small, ...config()]);
    expect(again.code, again.stderr).toBe(0);
    expect(runCli(['verify', '--dir', d, '--hostname', 'm9', '--era', 'E4'], {env}).code).toBe(0);
  });
  it('--dry-run prints the plan and makes nothing', () => {
    const d = fresh('dry');
    const r = runCli(['--dry-run', 'prepare', '--era', 'E4', '--dir', d, '--hostname', 'm4', ...small, ...config()], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mkfs\.ext4/);
    expect(r.stdout + r.stderr).not.toContain(SEED);
    expect(readdirSync(d)).toEqual([]);
  });
});
