// Volume probes against volumes made by the real tools, cross-checked with blkid's low-level probe.
import {randomBytes} from 'node:crypto';
import {copyFileSync, readFileSync, truncateSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {probeVolume, type Probe} from '../src/disk/probe.js';
import {openImage} from '../src/disk/qcow2.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const MiB = 1024 * 1024;
let tmp: ReturnType<typeof tempDir>;
let dir: string;

function sparseFile(name: string, size: number): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  return path;
}

async function probe(path: string): Promise<Probe> {
  const reader = await openImage(path);
  try {
    return await probeVolume(reader);
  } finally {
    await reader.close();
  }
}

/** blkid -p (no cache, no udev) as KEY=value pairs. */
function blkid(path: string): Record<string, string> {
  const out = sh('blkid', ['-p', '-o', 'export', path]);
  return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function expectLikeBlkid(p: Probe, path: string): void {
  const b = blkid(path);
  expect(p.type).toBe(b.TYPE);
  expect(p.uuid).toBe(b.UUID);
  expect(p.label).toBe(b.LABEL);
}

function ext(name: string, ...mkfsArgs: string[]): string {
  const path = sparseFile(name, 64 * MiB);
  sh('mke2fs', ['-q', '-F', ...mkfsArgs, path]);
  return path;
}

function dumpe2fs(path: string, field: string): number {
  const line = sh('dumpe2fs', ['-h', path]).split('\n').find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(':')[1]?.trim());
}

function debugfs(path: string, request: string): void {
  sh('debugfs', ['-w', '-R', request, path]);
}

/** Whether resize2fs (asked to grow to the size it already has) first demands an e2fsck. */
function resize2fsWantsFsck(path: string): boolean {
  try {
    sh('resize2fs', [path]);
    return false;
  } catch (error) {
    const output = `${(error as {stdout?: string}).stdout ?? ''}${(error as {stderr?: string}).stderr ?? ''}`;
    if (/Please run 'e2fsck -f/.test(output)) return true;
    throw error;
  }
}

/** An in-memory guest view, for fields the tools cannot easily produce. */
function memoryView(data: Buffer): {read(o: number, l: number): Promise<Buffer>; virtualSize: number} {
  return {virtualSize: data.length, read: async (o, l) => data.subarray(o, o + l)};
}

beforeAll(() => {
  requireTools('mke2fs', 'mkfs.ext4', 'dumpe2fs', 'debugfs', 'resize2fs', 'blkid', 'cryptsetup', 'mkfs.xfs', 'qemu-img');
  tmp = tempDir('tdxw-probe-');
  dir = tmp.path;
});
afterAll(() => tmp?.remove());

describe('ext2/3/4', () => {
  it('ext4 with label tdx-cache, raw and inside qcow2', async () => {
    const raw = ext('ext4.raw', '-t', 'ext4', '-L', 'tdx-cache');
    const p = await probe(raw);
    expectLikeBlkid(p, raw);
    expect(p).toMatchObject({type: 'ext4', label: 'tdx-cache', state: 'clean', needsFsck: false, needsRecovery: false});
    expect(p.blockSize).toBe(dumpe2fs(raw, 'Block size'));
    expect(p.sizeBytes).toBe(dumpe2fs(raw, 'Block count') * dumpe2fs(raw, 'Block size'));
    sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'ext4.qcow2')]);
    expect(await probe(join(dir, 'ext4.qcow2'))).toEqual(p);
  });

  it('a 17-character label is cut to 16 bytes by mkfs, with no NUL terminator', async () => {
    const raw = ext('long.raw', '-t', 'ext4', '-L', 'tdx-cache-storage');
    const p = await probe(raw);
    expect(p.label).toBe('tdx-cache-storag');
    expectLikeBlkid(p, raw);
  });

  it('a UTF-8 label', async () => {
    const raw = ext('utf8.raw', '-t', 'ext4', '-L', 'café-été');
    expect((await probe(raw)).label).toBe('café-été');
  });

  it('ext2 and ext3 are told apart from ext4 the way blkid does', async () => {
    for (const type of ['ext2', 'ext3'] as const) {
      const raw = ext(`${type}.raw`, '-t', type, '-L', type);
      const p = await probe(raw);
      expect(p).toMatchObject({type, label: type, state: 'clean', needsFsck: false});
      expectLikeBlkid(p, raw);
    }
  });

  it('not clean, errors, mounted since last check, needs recovery: agrees with resize2fs', async () => {
    const base = ext('state.raw', '-t', 'ext4', '-L', 'tdx-cache');
    const cases: Array<[string, string[], Partial<Probe>]> = [
      ['fresh', [], {state: 'clean', needsFsck: false, needsRecovery: false}],
      ['notclean', ['ssv state 0'], {state: 'not-clean', needsFsck: true}],
      ['errors', ['ssv state 3'], {state: 'errors', needsFsck: true}],
      ['mounted', ['ssv mtime 20300101'], {state: 'clean', needsFsck: true, needsRecovery: false}],
      ['checked', ['ssv mtime 20300101', 'ssv lastcheck 20300102'], {state: 'clean', needsFsck: false}],
      ['recover', ['feature needs_recovery'], {state: 'clean', needsFsck: true, needsRecovery: true}],
      ['orphans', ['ssv last_orphan 12'], {state: 'clean', needsFsck: true}],
      ['counts', ['ssv free_blocks_count 99999999'], {state: 'clean', needsFsck: true}],
    ];
    for (const [name, requests, expected] of cases) {
      const path = join(dir, `${name}.raw`);
      copyFileSync(base, path);
      for (const request of requests) debugfs(path, request);
      const p = await probe(path);
      expect(p, name).toMatchObject(expected);
      expect(resize2fsWantsFsck(path), `${name}: resize2fs disagrees`).toBe(p.needsFsck);
    }
  });

  it('the high half of the block count counts only with the 64bit feature', async () => {
    const raw = ext('hi.raw', '-t', 'ext4', '-O', '64bit');
    const data = Buffer.alloc(64 * 1024);
    readFileSync(raw).copy(data, 0, 0, data.length);
    const lo = data.readUInt32LE(1024 + 4);
    const blockSize = 1024 << data.readUInt32LE(1024 + 0x18);
    data.writeUInt32LE(1, 1024 + 0x150);
    expect((await probeVolume(memoryView(data))).sizeBytes).toBe((2 ** 32 + lo) * blockSize);
    data.writeUInt32LE(data.readUInt32LE(1024 + 0x60) & ~0x80, 1024 + 0x60);
    expect((await probeVolume(memoryView(data))).sizeBytes).toBe(lo * blockSize);
  });
});

describe('LUKS', () => {
  const luks = (name: string, ...args: string[]): string => {
    const path = sparseFile(name, 32 * MiB);
    writeFileSync(join(dir, 'key'), 'not-a-secret');
    sh('cryptsetup', ['luksFormat', '--batch-mode', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', ...args, path, '--key-file', join(dir, 'key')]);
    return path;
  };

  it('LUKS1: uuid, no label', async () => {
    const path = luks('luks1.raw', '--type', 'luks1');
    const p = await probe(path);
    expect(p).toEqual({type: 'crypto_LUKS', version: 1, uuid: sh('cryptsetup', ['luksUUID', path]).trim()});
    expectLikeBlkid(p, path);
  });

  it('LUKS2: uuid, label and subsystem', async () => {
    const path = luks('luks2.raw', '--type', 'luks2', '--label', 'tdx-cache', '--subsystem', 'tdx-wizard');
    const p = await probe(path);
    expect(p).toEqual({type: 'crypto_LUKS', version: 2, label: 'tdx-cache', subsystem: 'tdx-wizard', uuid: sh('cryptsetup', ['luksUUID', path]).trim()});
    expectLikeBlkid(p, path);
  });

  it('an unknown LUKS version is not claimed', async () => {
    const data = Buffer.alloc(4096);
    Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe, 0, 3]).copy(data);
    expect((await probeVolume(memoryView(data))).type).toBe('unknown');
  });
});

describe('XFS, empty, unknown', () => {
  it('XFS with a label', async () => {
    // mkfs.xfs 6.x refuses filesystems under 300 MiB.
    const path = sparseFile('xfs.raw', 300 * MiB);
    sh('mkfs.xfs', ['-q', '-f', '-L', 'tdx-cache', path]);
    const p = await probe(path);
    expectLikeBlkid(p, path);
    expect(p).toMatchObject({type: 'xfs', label: 'tdx-cache', blockSize: 4096, sizeBytes: 300 * MiB});
  });

  it('XFS of 5000G with a 12-byte label (the longest XFS keeps): label, UUID and size as blkid and xfs_db say', async () => {
    requireTools('xfs_db');
    const path = sparseFile('xfs-big.raw', 5000 * 1024 * MiB);
    sh('mkfs.xfs', ['-q', '-f', '-L', 'abcdefghijkl', path]);
    const p = await probe(path);
    expectLikeBlkid(p, path);
    const sb = sh('xfs_db', ['-r', '-c', 'sb 0', '-c', 'p dblocks blocksize uuid', path]);
    expect(p.uuid).toBe(/^uuid = (\S+)/m.exec(sb)![1]);
    expect(p).toMatchObject({label: 'abcdefghijkl', blockSize: Number(/^blocksize = (\d+)/m.exec(sb)![1])});
    expect(p.sizeBytes).toBe(Number(/^dblocks = (\d+)/m.exec(sb)![1]) * p.blockSize!);
    expect(p.sizeBytes).toBe(5000 * 1024 * MiB);
  });

  it('all zeros is empty, whatever the size', async () => {
    expect(await probe(sparseFile('zero.raw', 16 * MiB))).toEqual({type: 'empty'});
    expect(await probe(sparseFile('tiny.raw', 100))).toEqual({type: 'empty'});
    expect(await probe(sparseFile('nothing.raw', 0))).toEqual({type: 'empty'});
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'new.qcow2'), '1G']);
    expect(await probe(join(dir, 'new.qcow2'))).toEqual({type: 'empty'});
  });

  it('random bytes are unknown, and so is one non-zero byte', async () => {
    const path = join(dir, 'random.raw');
    writeFileSync(path, randomBytes(MiB));
    expect(await probe(path)).toEqual({type: 'unknown'});
    const one = Buffer.alloc(MiB);
    one[65535] = 1;
    expect(await probeVolume(memoryView(one))).toEqual({type: 'unknown'});
  });
});
