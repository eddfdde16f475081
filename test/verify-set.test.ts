// verify and inspect judge a volume as a role of an era, and a set as what one VM is given.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from './helpers/cli.js';
import {requireTools, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';
import {configVolume} from './helpers/guest-volumes.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'mkfs.xfs', 'cryptsetup', 'debugfs');
  tmp = tempDir('tdxw-set-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
  dir = join(tmp.path, 'volumes');
  mkdirSync(dir);
});
afterAll(() => tmp.remove());

function json(args: string[]): {code: number | null; result: Record<string, unknown>; stderr: string} {
  const r = runCli([...args, '--json'], {env});
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return {code: r.code, result: lines.find((e) => e.type === 'result') ?? lines[lines.length - 1], stderr: r.stderr};
}

describe('one volume, as a role of an era', () => {
  it('a storage volume is checked for "storage", not "tdx-cache"', () => {
    const path = makeVolume(dir, 'st.qcow2', {fs: 'ext4', label: 'storage'});
    expect(json(['verify', path, '--role', 'storage']).code).toBe(0);
    const asCache = json(['verify', path]);
    expect(asCache.code).toBe(1);
    expect(asCache.result.reason).toMatch(/looks for "tdx-cache"/);
    const inspected = json(['inspect', path, '--role', 'storage', '--era', 'E4']).result;
    expect(inspected).toMatchObject({role: 'storage', era: 'E4', expectedLabel: 'storage', verdict: 'ready'});
    expect(inspected.production).toMatch(/wipes this volume at its first boot/);
  });
  it('E4 refuses a raw cache (its launcher forces qcow2); E6 takes it raw, ext4 or XFS', () => {
    const raw = makeVolume(dir, 'cache-a.raw', {fs: 'ext4', label: 'tdx-cache', format: 'raw'});
    const e4 = json(['verify', raw, '--era', 'E4']);
    expect(e4.code).toBe(1);
    expect(e4.result).toMatchObject({verdict: 'wrong-format'});
    expect(e4.result.reason).toMatch(/format=qcow2: QEMU refuses to start/);
    expect(json(['verify', raw, '--era', 'E6']).code).toBe(0);
    const xfs = makeVolume(dir, 'cache-x.raw', {fs: 'xfs', label: 'tdx-cache', format: 'raw'});
    expect(json(['verify', xfs, '--era', 'E6']).code).toBe(0);
    expect(json(['verify', xfs, '--era', 'E5x']).code).toBe(0);
    const e5 = json(['verify', xfs, '--era', 'E5']);
    expect(e5.code).toBe(1);
    expect(e5.result.reason).toMatch(/mounts its cache volume as ext4/);
  });
  it('a provisioned (LUKS2) storage volume is accepted and said to be the guest\'s', () => {
    const path = makeVolume(dir, 'luks-st.qcow2', {fs: 'luks2', label: 'storage'});
    const r = json(['inspect', path, '--role', 'storage']).result;
    expect(r).toMatchObject({verdict: 'provisioned', accepted: true});
    expect(r.production).toMatch(/host tools must not touch it/);
  });
  it('bad input: an unknown era, a role the era has not got: exit 2, nothing changed', () => {
    const path = makeVolume(dir, 'x.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const before = snapshot(dir);
    const a = runCli(['verify', path, '--era', 'E9'], {env});
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/unknown era "E9"[\s\S]*E4/);
    const b = runCli(['verify', path, '--role', 'storage', '--era', 'E1'], {env});
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/has no storage volume/);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('a config volume is judged by its files too', () => {
  it('an empty tdx-config filesystem, and one with a 63-character seed, are refused with the reason', () => {
    const empty = makeVolume(dir, 'config-empty.qcow2', {fs: 'ext4', label: 'tdx-config', size: '10M'});
    const a = json(['verify', empty, '--role', 'config']);
    expect(a.code).toBe(1);
    expect(a.result).toMatchObject({verdict: 'invalid-config'});
    const short = configVolume(dir, 'config-short.qcow2', {seed: 'ab'.repeat(31) + 'a'});
    const b = json(['verify', short, '--role', 'config']);
    expect(b.code).toBe(1);
    expect(b.result.reason).toMatch(/miner seed in the volume/);
    expect(JSON.stringify(b.result)).not.toContain('ab'.repeat(31));
    const good = configVolume(dir, 'config-good.qcow2');
    const c = json(['verify', good, '--role', 'config']);
    expect(c.code, JSON.stringify(c.result)).toBe(0);
    expect(c.result.reason).toMatch(/valid hostname \(miner-01\)/);
  });
});

describe('the set one VM gets', () => {
  it('--dir/--hostname finds the E4 set by upstream names and accepts a complete one', () => {
    const d = join(dir, 'e4ok');
    mkdirSync(d);
    makeVolume(d, 'cache-m1.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    makeVolume(d, 'storage-m1.qcow2', {fs: 'ext4', label: 'storage'});
    configVolume(d, 'config-m1.qcow2', {hostname: 'm1'});
    const r = json(['verify', '--dir', d, '--hostname', 'm1', '--era', 'E4']);
    expect(r.code, JSON.stringify(r.result)).toBe(0);
    expect((r.result.volumes as Array<{role: string}>).map((v) => v.role)).toEqual(['cache', 'storage', 'config']);
  });
  it('a missing storage volume and a duplicated label are both named', () => {
    const d = join(dir, 'e4bad');
    mkdirSync(d);
    const a = makeVolume(d, 'cache-m2.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const b = makeVolume(d, 'config-m2.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '10M'});
    const r = json(['verify', a, b, '--era', 'E4']);
    expect(r.code).toBe(1);
    const problems = (r.result.problems as Array<{text: string}>).map((p) => p.text).join('\n');
    expect(problems).toMatch(/no storage volume: the E4 guest looks for "storage"/);
    expect(problems).toMatch(/2 volumes carry the label "tdx-cache".*picks one of them at random/);
    expect(problems).toMatch(/config: ext4 labelled "tdx-cache", but the guest looks for "tdx-config"/);
    const text = runCli(['verify', a, b, '--era', 'E4'], {env});
    expect(text.stdout).toMatch(/role\s+path\s+size\s+format\s+filesystem\s+status/);
  });
  it('a file whose role cannot be told is refused with exit 2', () => {
    const p = makeVolume(dir, 'mystery.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const q = makeVolume(dir, 'cache-q.qcow2', {fs: 'ext4', label: 'tdx-cache'});
    const r = runCli(['verify', p, q], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot tell which volume/);
  });
});

describe('writes to an existing volume follow its role, and never touch a provisioned one', () => {
  it('relabel --role storage writes "storage"; format --role storage too', () => {
    const path = makeVolume(dir, 'storage-r.qcow2', {fs: 'ext4', label: 'tdx-cache-storag'});
    const r = runCli(['relabel', path, '--role', 'storage', '--yes'], {env});
    expect(r.code, r.stderr).toBe(0);
    expect(json(['verify', path, '--role', 'storage']).code).toBe(0);
    const empty = makeVolume(dir, 'storage-f.qcow2', {fs: 'empty'});
    const f = runCli(['format', empty, '--role', 'storage', '--yes'], {env});
    expect(f.code, f.stderr).toBe(0);
    expect(json(['verify', empty, '--role', 'storage']).code).toBe(0);
  });
  it('relabel, format and resize refuse a LUKS2 volume a production guest made, with the reason; nothing changes', () => {
    const path = makeVolume(dir, 'luks-cache.qcow2', {fs: 'luks2', label: 'tdx-cache'});
    const before = snapshot(dir);
    const cases: Array<[string[], RegExp]> = [
      [['relabel', path, '--label', 'other', '--yes'], /production guest encrypted it/],
      [['format', path, '--confirm', 'luks-cache.qcow2'], /production guest encrypted it/],
      [['resize', path, '+1G', '--yes'], /LUKS-encrypted: the guest owns it/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args, {env});
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/fix: /);
    }
    expect(snapshot(dir)).toEqual(before);
  });
});
