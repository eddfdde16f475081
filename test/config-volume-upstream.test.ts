// Byte for byte against upstream: the real create-config.sh of the document's era and of the newest
// era (verbatim copies in test/fixtures/upstream-config/) run here as root, with stand-ins for
// qemu-nbd/modprobe/lsmod (no nbd module: a FUSE export on a loop device, in a private /dev; see
// run.sh), and the wizard's config-volume with the same values. Both volumes are read with
// debugfs and blkid and compared file by file: names, contents, modes, owners, lost+found, label
// and filesystem type.
import {spawnSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from './helpers/cli.js';
import {TEST_SEED, TEST_SS58} from './helpers/reliability.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const FIXTURES = resolve('test/fixtures/upstream-config');
const VALUES = {hostname: 'miner-01', ss58: TEST_SS58, seed: TEST_SEED, ip: '192.168.100.2', gw: '192.168.100.1', dns: '1.1.1.1'};

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'losetup', 'unshare', 'mount', 'mkfs.ext4', 'debugfs', 'blkid', 'dumpe2fs', 'bash');
  tmp = tempDir('tdxw-cfg-upstream-');
});
afterAll(() => tmp?.remove());

interface Entry {
  mode: string;
  uid: number;
  gid: number;
  content?: string;
}

/** A config volume as debugfs and blkid see it (from a raw copy of the qcow2). */
function readVolume(qcow: string): {entries: Map<string, Entry>; root: string; blkid: Record<string, string>; dumpe2fs: Record<string, string>} {
  const raw = `${qcow}.raw`;
  sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', qcow, raw]);
  const entries = new Map<string, Entry>();
  let root = '';
  for (const line of sh('debugfs', ['-R', 'ls -l /', raw]).split('\n')) {
    const m = /^\s*\d+\s+(\d+)\s+\(\d+\)\s+(\d+)\s+(\d+)\s+\d+\s+\S+\s+\S+\s+(.+)$/.exec(line);
    if (!m) continue;
    if (m[4] === '.') root = `${m[1]} ${m[2]}:${m[3]}`;
    if (m[4] === '.' || m[4] === '..') continue;
    const isFile = m[1]!.startsWith('100');
    entries.set(m[4]!, {mode: m[1]!, uid: Number(m[2]), gid: Number(m[3]), ...(isFile ? {content: sh('debugfs', ['-R', `cat /${m[4]}`, raw])} : {})});
  }
  const blkid = Object.fromEntries(sh('blkid', ['-p', '-o', 'export', raw]).trim().split('\n').map((l) => l.split('=') as [string, string]));
  const dumpe2fs = Object.fromEntries(
    sh('dumpe2fs', ['-h', raw]).split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return {entries, root, blkid, dumpe2fs};
}

function runUpstream(script: string, out: string, args: string[]): void {
  const r = spawnSync(join(FIXTURES, 'run.sh'), [join(FIXTURES, script), out, ...args], {encoding: 'utf8', timeout: 60_000});
  expect(r.status, `${script}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/Config volume created successfully/);
}

function runWizard(dir: string, out: string): void {
  const seedFile = join(dir, 'seed');
  writeFileSync(seedFile, `${VALUES.seed}\n`, {mode: 0o600});
  const r = runCli(['config-volume', out, '--hostname', VALUES.hostname, '--miner-ss58', VALUES.ss58, '--miner-seed-file', seedFile, '--vm-ip', VALUES.ip, '--vm-gateway', VALUES.gw, '--vm-dns', VALUES.dns], {
    env: {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config')},
  });
  expect(r.code, r.stderr).toBe(0);
}

/** What the guest and an operator can tell apart: the filesystem's shape, not its UUID or times. */
const SHAPE = ['Filesystem features', 'Block size', 'Block count', 'Inode count', 'Inode size', 'Reserved block count', 'Default mount options', 'Filesystem OS type'];

describe.each([
  {era: 'document era (kierr 52559611)', script: 'create-config.doc-era.sh', lostFound: true},
  {era: 'newest (rayonlabs 3a1a37cd)', script: 'create-config.newest.sh', lostFound: false},
])('upstream create-config.sh, $era', ({script, lostFound}) => {
  it('makes the same files, modes, owners, label and filesystem as the wizard', () => {
    const dir = join(tmp.path, script);
    sh('mkdir', ['-p', dir]);
    const theirs = join(dir, 'upstream.qcow2');
    const ours = join(dir, 'wizard.qcow2');
    runUpstream(script, theirs, [VALUES.hostname, VALUES.ss58, VALUES.seed, VALUES.ip, VALUES.gw, VALUES.dns]);
    runWizard(dir, ours);
    const a = readVolume(theirs);
    const b = readVolume(ours);

    // The newest script clears the volume's root before writing (for its in-place refresh), on a
    // new volume too: its lost+found is gone. The older ones, and the wizard, keep mkfs's.
    expect(a.entries.has('lost+found')).toBe(lostFound);
    expect(b.entries.get('lost+found')).toEqual({mode: '40700', uid: 0, gid: 0});
    const files = (e: Map<string, Entry>) => new Map([...e].filter(([name]) => name !== 'lost+found'));
    expect(files(b.entries)).toEqual(files(a.entries));
    expect([...files(b.entries).keys()].sort()).toEqual(['hostname', 'miner-seed', 'miner-ss58', 'network-config.yaml']);
    expect(b.root).toBe(a.root);
    expect(b.root).toBe('40755 0:0');

    for (const key of ['TYPE', 'LABEL', 'USAGE', 'VERSION', 'BLOCK_SIZE']) expect(b.blkid[key], key).toBe(a.blkid[key]);
    expect(b.blkid.TYPE).toBe('ext4');
    expect(b.blkid.LABEL).toBe('tdx-config');
    for (const key of SHAPE) expect(b.dumpe2fs[key], key).toBe(a.dumpe2fs[key]);
    // Upstream's was mounted once to write the files (the kernel then sets the journal's features
    // and a mount count); the wizard's was never mounted. The guest mounts it either way.
    expect(a.dumpe2fs['Mount count']).toBe('1');
    expect(b.dumpe2fs['Mount count']).toBe('0');
  });
});
