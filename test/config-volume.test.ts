import {randomBytes} from 'node:crypto';
// tdx-wizard config-volume through the built CLI: a verified volume without root; every bad input
// refused with exit 2, a message and a fix, and nothing on disk changed; --refresh; and the seed:
// in no process's argv or environment while it runs, in no file but the volume afterwards, its
// private directory gone, also after a SIGKILL (the next run removes it and says so).
import {spawn, type ChildProcess} from 'node:child_process';
import {chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot, startCli} from './helpers/cli.js';
import {alive, blockingTool, watchProcesses, filesUnder, readyPid, runCliAsNobody, sleep, TEST_SEED, TEST_SS58, waitFor} from './helpers/reliability.js';
import {requireTools, sh, tempDir, toolPath} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';

// Made at once: the describe blocks below set up their directories while the tests are collected.
const tmp = tempDir('tdxw-cfgvol-');
beforeAll(() => requireTools('qemu-img', 'qemu-storage-daemon', 'mkfs.ext4', 'debugfs', 'blkid', 'setpriv', 'bash'));
afterAll(() => tmp.remove());

/** A directory for one test: the seed file, the wizard's own state and config, its TMPDIR. */
function setup(name: string, seed = `${TEST_SEED}\n`) {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'tmp'), {recursive: true});
  const seedFile = join(dir, 'seed');
  writeFileSync(seedFile, seed, {mode: 0o600});
  const env: NodeJS.ProcessEnv = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), TMPDIR: join(dir, 'tmp')};
  const volume = join(dir, 'config-miner-01.qcow2');
  const args = (o: Record<string, string | undefined> = {}, path = volume) => {
    const v = {'--hostname': 'miner-01', '--miner-ss58': TEST_SS58, '--miner-seed-file': seedFile, '--vm-ip': '192.168.100.2', '--vm-gateway': '192.168.100.1', ...o};
    return ['config-volume', path, ...Object.entries(v).flatMap(([k, x]) => (x === undefined ? [] : [k, x]))];
  };
  return {dir, seedFile, env, volume, args};
}

/** name -> "mode uid:gid content" as debugfs reads the volume (through a raw copy). */
function debugfsView(qcow: string): Record<string, string> {
  const raw = `${qcow}.view.raw`;
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow, raw]);
  const view: Record<string, string> = {};
  for (const line of sh('debugfs', ['-R', 'ls -l /', raw]).split('\n')) {
    const m = /^\s*\d+\s+(\d+)\s+\(\d+\)\s+(\d+)\s+(\d+)\s+\d+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (!m || m[4] === '..') continue;
    view[m[4]!] = `${m[1]} ${m[2]}:${m[3]}${m[1]!.startsWith('100') ? ` ${sh('debugfs', ['-R', `cat /${m[4]}`, raw])}` : ''}`;
  }
  view.LABEL = sh('blkid', ['-p', '-s', 'LABEL', '-o', 'value', raw]).trim();
  sh('rm', ['-f', raw]);
  return view;
}

const NETPLAN = (ip: string, gw: string, dns: string) =>
  `network:\n  version: 2\n  ethernets:\n    any-ethernet:\n      match:\n        name: "en*"\n      addresses:\n        - ${ip}/24\n      routes:\n        - to: default\n          via: ${gw}\n      nameservers:\n        addresses:\n          - ${dns}\n`;

/**
 * A seed of this file's own: other test files run at the same time with TEST_SEED (upstream's
 * script even puts it on a command line), so a search for TEST_SEED would find theirs.
 */
const LEAK_SEED = randomBytes(32).toString('hex');
/** Every 20-character piece of the seed, either case: a partial leak counts too. */
const PIECES = Array.from({length: LEAK_SEED.length - 19}, (_, i) => LEAK_SEED.slice(i, i + 20));
const leaks = (text: string) => PIECES.some((p) => text.includes(p) || text.includes(p.toUpperCase()));

const wizardScratch = () => readdirSync('/dev/shm').filter((e) => e.startsWith('tdx-wizard-config-'));

describe('config-volume', () => {
  it('builds a verified config volume without root: upstream\'s files, modes and owners, seed not shown', () => {
    const t = setup('nobody');
    chmodSync(tmp.path, 0o711); // mkdtemp made it 0700: nobody must reach its own directory inside
    for (const p of [t.dir, t.seedFile, join(t.dir, 'tmp')]) chownSync(p, 65534, 65534);
    const started = Date.now();
    const r = runCliAsNobody(['--json', ...t.args({'--vm-dns': '1.1.1.1'})], {env: t.env});
    const ms = Date.now() - started;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    console.log(`config-volume as nobody, whole CLI run: ${ms} ms`);
    const st = statSync(t.volume);
    expect([st.mode & 0o777, st.uid]).toEqual([0o600, 65534]);
    expect(debugfsView(t.volume)).toEqual({
      '.': '40755 0:0',
      'lost+found': '40700 0:0',
      hostname: '100644 0:0 miner-01\n',
      'miner-ss58': `100600 0:0 ${TEST_SS58}\n`,
      'miner-seed': `100600 0:0 ${TEST_SEED}\n`,
      'network-config.yaml': `100644 0:0 ${NETPLAN('192.168.100.2', '192.168.100.1', '1.1.1.1')}`,
      LABEL: 'tdx-config',
    });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = lines.find((l) => l.type === 'result') as {seed: unknown; values: Record<string, string>};
    expect(result.seed).toEqual({present: true, valid: true});
    expect(result.values).toMatchObject({hostname: 'miner-01', vmIp: '192.168.100.2', vmGateway: '192.168.100.1', vmDns: '1.1.1.1'});
    const notes = lines.filter((l) => l.type === 'warning').map((l) => l.message as string);
    expect(notes.filter((n) => /holds the miner seed in clear/.test(n))).toHaveLength(1);
    expect(leaks(r.stdout + r.stderr)).toBe(false);
    // Its private directory is gone (nobody's: root's runs in the other worker may leave theirs meanwhile).
    const nobodys = (e: string) => statSync(join('/dev/shm', e), {throwIfNoEntry: false})?.uid === 65534;
    expect(wizardScratch().filter((e) => nobodys(e) && !alive(Number(e.split('-')[3])))).toEqual([]);
  });

  it('takes the seed from stdin with --miner-seed-file -, strips 0x and says so', () => {
    const t = setup('stdin');
    const r = runCli(t.args({'--miner-seed-file': '-'}), {env: t.env, input: `0x${TEST_SEED}\n`});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed the "0x"/);
    expect(debugfsView(t.volume)['miner-seed']).toBe(`100600 0:0 ${TEST_SEED}\n`);
  });

  describe('refuses bad input with exit 2, a message and a fix, and changes nothing', () => {
    const t = setup('bad');
    // Its private directory would go in t.dir (the snapshot sees it), not in /dev/shm, where the
    // other worker's runs come and go meanwhile.
    mkdirSync(join(t.dir, 'scratch'), {recursive: true});
    const env = {...t.env, TDX_WIZARD_SCRATCH_DIR: join(t.dir, 'scratch')};
    const cases: Array<[string, () => string[], RegExp]> = [
      ['a seed of 63 characters', () => (writeFileSync(t.seedFile, TEST_SEED.slice(1)), t.args()), /63 hex characters; it needs exactly 64/],
      ['a seed that is not hex', () => (writeFileSync(t.seedFile, `${TEST_SEED.slice(1)}z`), t.args()), /not hex/],
      ['an upper-case hostname', () => t.args({'--hostname': 'Miner-01'}), /hostname has "M"/],
      ['a 64-character hostname', () => t.args({'--hostname': 'm'.repeat(64)}), /64 characters long/],
      ['a bad VM IP', () => t.args({'--vm-ip': '192.168.1000.2'}), /not an IPv4 address/],
      ['a bad gateway', () => t.args({'--vm-gateway': 'gateway'}), /not an IPv4 address/],
      ['no seed file', () => t.args({'--miner-seed-file': undefined}), /--miner-seed-file is required/],
      ['an existing file without --refresh', () => (writeFileSync(join(t.dir, 'existing.qcow2'), 'x'), t.args({}, join(t.dir, 'existing.qcow2'))), /already exists[\s\S]*fix: pass --refresh/],
      ['--refresh of a file that is not a config volume', () => (makeVolume(t.dir, 'cache.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'}), [...t.args({}, join(t.dir, 'cache.qcow2')), '--refresh']), /not a config volume: it holds ext4 labelled "tdx-cache"/],
    ];
    for (const [what, makeArgs, message] of cases) {
      it(what, () => {
        writeFileSync(t.seedFile, `${TEST_SEED}\n`);
        const args = makeArgs();
        const before = snapshot(t.dir);
        const r = runCli(args, {env});
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).toMatch(/^error: [\s\S]*\n {2}fix: /);
        expect(leaks(r.stderr + r.stdout)).toBe(false);
        expect(snapshot(t.dir)).toEqual(before);
      });
    }
  });

  describe('--refresh', () => {
    const t = setup('refresh');
    beforeAll(() => {
      const r = runCli(t.args(), {env: t.env});
      expect(r.code, r.stderr).toBe(0);
    });

    it('refuses a config volume in use by a VM (held read-only, as QEMU holds it) with exit 2, unchanged', async () => {
      const socket = join(t.dir, 'nbd.sock');
      // What QEMU does with the config volume (format=qcow2,readonly=on): open it and take qemu's lock.
      const holder: ChildProcess = spawn(toolPath('qemu-storage-daemon'), [
        '--blockdev', `driver=file,node-name=f,filename=${t.volume},read-only=on`,
        '--blockdev', 'driver=qcow2,node-name=d,file=f,read-only=on',
        '--nbd-server', `addr.type=unix,addr.path=${socket}`,
        '--export', 'type=nbd,id=e,node-name=d',
      ], {stdio: 'ignore'});
      try {
        await waitFor('qemu-storage-daemon to hold the volume', () => existsSync(socket));
        const before = snapshot(t.dir);
        const r = runCli([...t.args({'--hostname': 'miner-02'}), '--refresh'], {env: t.env});
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/is in use \(held by qemu-storage-daemon \(pid \d+\)\)[\s\S]*fix: stop the VM first/);
        expect(snapshot(t.dir).filter((l) => !l.startsWith('/state'))).toEqual(before.filter((l) => !l.startsWith('/state')));
      } finally {
        holder.kill('SIGTERM');
        await new Promise((r) => holder.once('exit', r));
      }
    });

    it('rewrites hostname and network in place and keeps the volume valid', () => {
      const r = runCli(['--json', ...t.args({'--hostname': 'miner-02', '--vm-ip': '10.1.2.3', '--vm-gateway': '10.1.2.1', '--vm-dns': '9.9.9.9'}), '--refresh'], {env: t.env});
      expect(r.code, r.stderr).toBe(0);
      const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as {type: string; refreshed: boolean; seed: unknown}).find((l) => l.type === 'result')!;
      expect(result.refreshed).toBe(true);
      expect(result.seed).toEqual({present: true, valid: true});
      const view = debugfsView(t.volume);
      expect(view.hostname).toBe('100644 0:0 miner-02\n');
      expect(view['network-config.yaml']).toBe(`100644 0:0 ${NETPLAN('10.1.2.3', '10.1.2.1', '9.9.9.9')}`);
      expect(view['miner-seed']).toBe(`100600 0:0 ${TEST_SEED}\n`);
      expect([view.LABEL, view['lost+found']]).toEqual(['tdx-config', '40700 0:0']);
      expect(statSync(t.volume).mode & 0o777).toBe(0o600);
      expect(readdirSync(t.dir).filter((e) => e.includes('tdx-wizard'))).toEqual([]);
    });
  });

  it('the seed is in no process argv or environment while it runs, and in no file but the volume afterwards', async () => {
    const t = setup('leak', `${LEAK_SEED}\n`);
    const run = startCli(t.args(), {env: t.env});
    const {seen, scans} = await watchProcesses(run.child, leaks);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(scans).toBeGreaterThan(10);
    expect(seen).toEqual([]);
    expect(leaks(result.stdout + result.stderr)).toBe(false);
    // Other files' runs keep their raw files (sparse, up to terabytes) in /dev/shm meanwhile: this
    // run's files there are at most its 10M filesystem, so larger ones are not this run's.
    // Another run may remove its files between the listing and the reading (seen in a full run):
    // a file gone is not this run's.
    const mine = (f: string) => (statSync(f, {throwIfNoEntry: false})?.size ?? Infinity) <= 64 * 2 ** 20;
    const text = (f: string) => {
      try {
        return readFileSync(f, 'latin1');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw error;
      }
    };
    const holding = [...filesUnder(t.dir), ...filesUnder('/dev/shm').filter(mine)].filter((f) => f !== t.seedFile && f !== t.volume && leaks(text(f)));
    expect(holding).toEqual([]);
    expect(filesUnder(join(t.dir, 'state')).length).toBeGreaterThan(0); // the transcript was written, and searched
    expect(leaks(readFileSync(t.volume, 'latin1'))).toBe(true); // where it belongs
    expect(wizardScratch().filter((e) => e.startsWith(`tdx-wizard-config-${run.child.pid}-`))).toEqual([]);
  });

  it('after a SIGKILL, the next run removes the private directory that holds the seed, and says so', async () => {
    const t = setup('sigkill');
    const bin = join(t.dir, 'bin');
    const ready = join(t.dir, 'mkfs.ready');
    blockingTool(bin, 'mkfs.ext4', ready);
    // A scratch directory of its own: any other wizard run (another test file's, in the other worker)
    // reclaims a dead run's directory in /dev/shm too, and could say so before this one does.
    const scratch = join(t.dir, 'scratch');
    mkdirSync(scratch);
    const env = {...t.env, TDX_WIZARD_SCRATCH_DIR: scratch, PATH: `${bin}:${process.env.PATH}`};
    const run = startCli(t.args(), {env});
    await waitFor('mkfs.ext4 to start', () => existsSync(ready) || run.child.exitCode !== null);
    const pid = run.child.pid!;
    const [left] = readdirSync(scratch).filter((e) => e.startsWith(`tdx-wizard-config-${pid}-`));
    expect(left).toBeDefined();
    expect(readFileSync(join(scratch, left!, 'root', 'miner-seed'), 'utf8')).toBe(`${TEST_SEED}\n`);
    run.child.kill('SIGKILL');
    process.kill(readyPid(ready), 'SIGKILL');
    await run.done;
    await sleep(50);
    expect(existsSync(join(scratch, left!))).toBe(true);

    const r = runCli(t.args(), {env: {...t.env, TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`a config-volume build (pid ${pid}) was killed before it could clean up: removed its private directory (the config files, the miner seed among them, and the raw filesystem) in ${scratch}/${left}`);
    expect(existsSync(join(scratch, left!))).toBe(false);
    expect(debugfsView(t.volume)['miner-seed']).toBe(`100600 0:0 ${TEST_SEED}\n`);
  });
});
