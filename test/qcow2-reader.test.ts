// The qcow2 reader against the real qemu-img: every layout must read back byte for byte what
// `qemu-img convert -O raw` produces.
import {createHash} from 'node:crypto';
import {copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync, closeSync, truncateSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {ImageError, openImage, type ImageReader} from '../src/disk/qcow2.js';
import {probeVolume} from '../src/disk/probe.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const MiB = 1024 * 1024;
const SIZE = 32 * MiB;

let tmp: ReturnType<typeof tempDir>;
let dir: string;

function img(...args: string[]): string {
  return sh('qemu-img', args, {cwd: dir});
}

function io(image: string, ...commands: string[]): void {
  sh('qemu-io', ['-f', 'qcow2', ...commands.flatMap((c) => ['-c', c]), image], {cwd: dir});
}

/** Deterministic pseudo-random bytes (mulberry32), so a failure reproduces. */
function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function sparseFile(path: string, size: number): void {
  writeFileSync(path, '');
  truncateSync(path, size);
}

function writeAt(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, data, 0, data.length, offset);
  closeSync(fd);
}

async function readerSha(reader: ImageReader, length = reader.virtualSize): Promise<string> {
  const hash = createHash('sha256');
  for (let off = 0; off < length; off += 4 * MiB) hash.update(await reader.read(off, Math.min(4 * MiB, length - off)));
  return hash.digest('hex');
}

function qemuSha(image: string, format = 'qcow2'): string {
  const out = join(dir, 'reference.raw');
  img('convert', '-f', format, '-O', 'raw', image, out);
  return createHash('sha256').update(readFileSync(out)).digest('hex');
}

async function expectSameAsQemu(image: string): Promise<ImageReader> {
  const reader = await openImage(join(dir, image));
  try {
    expect(await readerSha(reader)).toBe(qemuSha(join(dir, image)));
  } finally {
    await reader.close();
  }
  return reader;
}

async function labelOf(image: string): Promise<string | undefined> {
  const reader = await openImage(join(dir, image));
  try {
    return (await probeVolume(reader)).label;
  } finally {
    await reader.close();
  }
}

/** Retypes the backing-format header extension so the reader has to probe the backing file. */
function hideBackingFormat(image: string): void {
  const head = readFileSync(image).subarray(0, 4096);
  for (let p = head.readUInt32BE(100); p + 8 <= head.length; ) {
    const type = head.readUInt32BE(p);
    const len = head.readUInt32BE(p + 4);
    if (type === 0) break;
    if (type === 0xe2792aca) {
      const patch = Buffer.alloc(4);
      patch.writeUInt32BE(0x7a7a7a7a);
      writeAt(image, p, patch);
      return;
    }
    p += 8 + Math.ceil(len / 8) * 8;
  }
  throw new Error(`${image}: no backing format extension`);
}

beforeAll(() => {
  requireTools('qemu-img', 'qemu-io', 'mkfs.ext4', 'e2label', 'cryptsetup');
  tmp = tempDir('tdxw-qcow2-');
  dir = tmp.path;
  // An ext4 volume with data scattered over it: unaligned runs, a run crossing a cluster, the last bytes.
  const base = join(dir, 'base.raw');
  sparseFile(base, SIZE);
  sh('mkfs.ext4', ['-q', '-F', '-L', 'tdx-cache', base]);
  const runs: Array<[number, number]> = [[3 * MiB + 123, 100_000], [10 * MiB, MiB], [15 * MiB - 700, 5000], [24 * MiB, 65536], [SIZE - 4096, 4096]];
  runs.forEach(([off, len], i) => writeAt(base, off, pseudoRandom(len, i + 1)));
  img('convert', '-f', 'raw', '-O', 'qcow2', 'base.raw', 'default.qcow2');
});
afterAll(() => tmp?.remove());

describe('qcow2 reader matches qemu-img convert -O raw byte for byte', () => {
  const converted: Array<[string, string[]]> = [
    ['compressed (zlib)', ['-c']],
    ['compressed, 2 MiB clusters', ['-c', '-o', 'cluster_size=2M']],
    ['512-byte clusters', ['-o', 'cluster_size=512']],
    ['2 MiB clusters', ['-o', 'cluster_size=2M']],
    ['compat=0.10 (version 2)', ['-o', 'compat=0.10']],
    ['extended L2, 128 KiB clusters', ['-o', 'extended_l2=on,cluster_size=128k']],
  ];

  it('default 64 KiB clusters', async () => {
    const reader = await expectSameAsQemu('default.qcow2');
    expect(reader.format).toBe('qcow2');
    expect(reader.virtualSize).toBe(SIZE);
    expect(reader.info).toMatchObject({version: 3, clusterBits: 16, clusterSize: 65536, dirty: false, corrupt: false, extendedL2: false, backingChain: []});
    expect(await labelOf('default.qcow2')).toBe('tdx-cache');
  });

  it.each(converted)('%s', async (name, options) => {
    const file = `${name.replace(/[^a-z0-9]+/gi, '-')}.qcow2`;
    img('convert', '-f', 'raw', '-O', 'qcow2', ...options, 'base.raw', file);
    const reader = await expectSameAsQemu(file);
    if (name.startsWith('compat')) expect(reader.info.version).toBe(2);
    if (name.startsWith('extended')) expect(reader.info).toMatchObject({extendedL2: true, clusterSize: 128 * 1024});
    expect(await labelOf(file)).toBe('tdx-cache');
  });

  it('qcow2 overlay over qcow2 with a new label and data', async () => {
    img('create', '-q', '-f', 'qcow2', '-b', 'default.qcow2', '-F', 'qcow2', 'overlay.qcow2');
    copyFileSync(join(dir, 'base.raw'), join(dir, 'relabel.raw'));
    sh('e2label', [join(dir, 'relabel.raw'), 'newer-label']);
    writeFileSync(join(dir, 'sb.bin'), readFileSync(join(dir, 'relabel.raw')).subarray(0, 4096));
    io('overlay.qcow2', 'write -q -s sb.bin 0 4096', 'write -q -P 0x5a 20M 300k', 'write -q -P 0x11 10485000 1000');
    const reader = await expectSameAsQemu('overlay.qcow2');
    expect(reader.info.backingChain).toEqual([{path: join(dir, 'default.qcow2'), name: 'default.qcow2', format: 'qcow2', virtualSize: SIZE}]);
    expect(await labelOf('overlay.qcow2')).toBe('newer-label');
  });

  it('qcow2 overlay over raw', async () => {
    img('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', 'over-raw.qcow2');
    io('over-raw.qcow2', 'write -q -P 0x33 1049088 4096', 'write -q -P 0x44 31M 512k');
    const reader = await expectSameAsQemu('over-raw.qcow2');
    expect(reader.info.backingChain.map((b) => b.format)).toEqual(['raw']);
  });

  it('overlay larger than its backing file reads zeros past the backing end', async () => {
    writeFileSync(join(dir, 'small.raw'), pseudoRandom(8 * MiB, 99));
    img('create', '-q', '-f', 'qcow2', '-b', 'small.raw', '-F', 'raw', 'bigger.qcow2', '32M');
    io('bigger.qcow2', 'write -q -P 0x66 20M 64k');
    await expectSameAsQemu('bigger.qcow2');
    const reader = await openImage(join(dir, 'bigger.qcow2'));
    expect((await reader.read(8 * MiB, 4096)).every((b) => b === 0)).toBe(true);
    await reader.close();
  });

  it('extended-L2 overlay with a single allocated subcluster', async () => {
    img('create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=128k', '-b', 'default.qcow2', '-F', 'qcow2', 'sub.qcow2');
    io('sub.qcow2', 'write -q -P 0x77 10M 4k', 'write -q -z 3M 8k');
    await expectSameAsQemu('sub.qcow2');
  });

  it('zero clusters (write -z, with and without unmap) and discard', async () => {
    copyFileSync(join(dir, 'default.qcow2'), join(dir, 'zero.qcow2'));
    io('zero.qcow2', 'write -q -z 10M 256k', 'write -q -z -u 24M 64k', 'discard -q 15M 64k');
    await expectSameAsQemu('zero.qcow2');
  });

  it('zero clusters in an overlay hide the backing data', async () => {
    img('create', '-q', '-f', 'qcow2', '-b', 'default.qcow2', '-F', 'qcow2', 'zero-over.qcow2');
    io('zero-over.qcow2', 'write -q -z 10M 512k', 'write -q -z 3M 4k');
    await expectSameAsQemu('zero-over.qcow2');
    const reader = await openImage(join(dir, 'zero-over.qcow2'));
    expect((await reader.read(10 * MiB, 512 * 1024)).every((b) => b === 0)).toBe(true);
    await reader.close();
  });

  it('a three-deep chain with relative names in different directories', async () => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    copyFileSync(join(dir, 'default.qcow2'), join(dir, 'a', 'base.qcow2'));
    img('create', '-q', '-f', 'qcow2', '-b', '../a/base.qcow2', '-F', 'qcow2', 'b/mid.qcow2');
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x21 12M 64k', 'mid.qcow2'], {cwd: join(dir, 'b')});
    img('create', '-q', '-f', 'qcow2', '-b', 'b/mid.qcow2', '-F', 'qcow2', 'top.qcow2');
    io('top.qcow2', 'write -q -P 0x22 12M 4k');
    const reader = await expectSameAsQemu('top.qcow2');
    expect(reader.info.backingChain.map((b) => b.path)).toEqual([join(dir, 'b', 'mid.qcow2'), join(dir, 'a', 'base.qcow2')]);
  });

  it('a backing file without a declared format is probed by its magic', async () => {
    img('create', '-q', '-f', 'qcow2', '-b', 'default.qcow2', '-F', 'qcow2', 'nofmt.qcow2');
    io('nofmt.qcow2', 'write -q -P 0x55 5M 64k');
    hideBackingFormat(join(dir, 'nofmt.qcow2'));
    const reader = await expectSameAsQemu('nofmt.qcow2');
    expect(reader.info.backingChain[0]?.format).toBe('qcow2');
  });

  it('an image shrunk with resize --shrink (L1 larger than needed)', async () => {
    img('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=512', 'base.raw', 'shrunk.qcow2');
    img('resize', '-q', '--shrink', 'shrunk.qcow2', '16M');
    const reader = await expectSameAsQemu('shrunk.qcow2');
    expect(reader.virtualSize).toBe(16 * MiB);
  });

  it('a LUKS2 payload inside qcow2', async () => {
    const raw = join(dir, 'luks.raw');
    sparseFile(raw, 32 * MiB);
    writeFileSync(join(dir, 'key'), 'not-a-secret');
    sh('cryptsetup', ['luksFormat', '--type', 'luks2', '--batch-mode', '--label', 'tdx-cache', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', raw, '--key-file', join(dir, 'key')]);
    img('convert', '-f', 'raw', '-O', 'qcow2', 'luks.raw', 'luks.qcow2');
    await expectSameAsQemu('luks.qcow2');
    const reader = await openImage(join(dir, 'luks.qcow2'));
    expect(await probeVolume(reader)).toMatchObject({type: 'crypto_LUKS', version: 2, label: 'tdx-cache'});
    await reader.close();
  });
});

describe('qcow2 reader: flags, formats and refusals', () => {
  it('reports the dirty and corrupt bits but still reads', async () => {
    copyFileSync(join(dir, 'default.qcow2'), join(dir, 'flags.qcow2'));
    writeAt(join(dir, 'flags.qcow2'), 79, Buffer.from([3]));
    const reader = await openImage(join(dir, 'flags.qcow2'));
    expect(reader.info).toMatchObject({dirty: true, corrupt: true});
    expect((await probeVolume(reader)).label).toBe('tdx-cache');
    await reader.close();
  });

  it('raw files, forced formats and read arguments', async () => {
    const raw = await openImage(join(dir, 'base.raw'));
    expect(raw.format).toBe('raw');
    expect(raw.virtualSize).toBe(SIZE);
    expect(await readerSha(raw)).toBe(createHash('sha256').update(readFileSync(join(dir, 'base.raw'))).digest('hex'));
    // Past the end: zeros, not an error.
    const tail = await raw.read(SIZE - 10, 20);
    expect(tail.subarray(10).every((b) => b === 0)).toBe(true);
    expect(tail.subarray(0, 10)).toEqual(readFileSync(join(dir, 'base.raw')).subarray(SIZE - 10));
    await expect(raw.read(-1, 10)).rejects.toMatchObject({code: 'range'});
    await expect(raw.read(0.5, 10)).rejects.toBeInstanceOf(ImageError);
    await raw.close();
    await expect(raw.read(0, 10)).rejects.toMatchObject({code: 'closed'});

    const asRaw = await openImage(join(dir, 'default.qcow2'), {format: 'raw'});
    expect(asRaw.format).toBe('raw');
    expect((await asRaw.read(0, 4)).toString('latin1')).toBe('QFI\xfb');
    await asRaw.close();
    await expect(openImage(join(dir, 'base.raw'), {format: 'qcow2'})).rejects.toMatchObject({code: 'bad-magic'});
    await expect(openImage(join(dir, 'missing.qcow2'))).rejects.toMatchObject({code: 'io'});
    await expect(openImage(dir)).rejects.toMatchObject({code: 'not-a-file'});
  });

  it('refuses a LUKS-encrypted qcow2', async () => {
    // qemu-img times its key derivation by the thread's CPU time; on a loaded machine that can read
    // 0 ms and it gives up ("Unable to get accurate CPU usage"). Only that is tried again.
    const create = () => img('create', '-q', '-f', 'qcow2', '--object', 'secret,id=sec0,data=abc', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10', 'enc.qcow2', '16M');
    for (let attempt = 1; ; attempt++) {
      try {
        create();
        break;
      } catch (error) {
        if (attempt === 5 || !/Unable to get accurate CPU usage/.test(String(error))) throw error;
      }
    }
    await expect(openImage(join(dir, 'enc.qcow2'))).rejects.toThrow(/encrypted \(LUKS\)/);
  });

  it('refuses zstd compression', async () => {
    img('create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', 'zstd.qcow2', '16M');
    const error = await openImage(join(dir, 'zstd.qcow2')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect(error).toMatchObject({code: 'unsupported', message: expect.stringMatching(/zstd/)});
  });
});
