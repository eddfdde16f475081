// Hostile and broken images: every case must end quickly in an ImageError (or a clean read),
// never a hang, a TypeError/RangeError from deep inside, or a huge allocation.
import {copyFileSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest';
import {ImageError, openImage, type ImageErrorCode} from '../src/disk/qcow2.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const MiB = 1024 * 1024;
const DEADLINE_MS = 2000;
// The largest buffer a hostile image may make the reader allocate: two 2 MiB clusters.
const MAX_ALLOC = 4 * MiB;

let tmp: ReturnType<typeof tempDir>;
let dir: string;
let plain: Buffer; // a valid qcow2 with data, 64 KiB clusters
let compressed: Buffer; // the same content, compressed

function img(...args: string[]): string {
  return sh('qemu-img', args, {cwd: dir});
}

function u64(buf: Buffer, at: number): number {
  return Number(buf.readBigUInt64BE(at));
}

/** Writes a copy of `source` with `edit` applied. */
function variant(name: string, source: Buffer, edit: (b: Buffer) => Buffer | void): string {
  const copy = Buffer.from(source);
  const path = join(dir, name);
  writeFileSync(path, edit(copy) ?? copy);
  return path;
}

/** Offset of the L2 table behind L1 entry 0, and of the first allocated entry in it. */
function firstL2Entry(image: Buffer): {l1: number; l2: number; entry: number} {
  const l1 = u64(image, 40);
  const l2 = u64(image, l1) & 0x00fffffffffffe00;
  for (let i = 0; i < 8192; i++) if (image.readBigUInt64BE(l2 + i * 8) !== 0n) return {l1, l2, entry: l2 + i * 8};
  throw new Error('no allocated L2 entry');
}

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Opens and reads the start, middle and end; returns 'ok' or the ImageError. Anything else fails the test. */
async function outcome(path: string): Promise<'ok' | ImageError> {
  let biggest = 0;
  const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const).map((fn) => {
    const original = Buffer[fn].bind(Buffer) as (size: number, ...rest: unknown[]) => Buffer;
    return vi.spyOn(Buffer, fn).mockImplementation(((size: number, ...rest: unknown[]) => {
      biggest = Math.max(biggest, size);
      return original(size, ...rest);
    }) as never);
  });
  try {
    return await deadline(
      (async () => {
        const reader = await openImage(path);
        try {
          const size = reader.virtualSize;
          for (const off of [0, Math.floor(size / 2), Math.max(0, size - 4096)]) await reader.read(off, 65536);
          return 'ok' as const;
        } finally {
          await reader.close();
        }
      })().catch((error: unknown) => {
        if (error instanceof ImageError) return error;
        throw error;
      }),
      path,
    );
  } finally {
    for (const spy of spies) spy.mockRestore();
    expect(biggest, `${path}: largest allocation`).toBeLessThanOrEqual(MAX_ALLOC);
  }
}

async function expectRefused(path: string, code: ImageErrorCode, message: RegExp): Promise<void> {
  const result = await outcome(path);
  expect(result, `${path} was read without complaint`).toBeInstanceOf(ImageError);
  expect(result).toMatchObject({code, message: expect.stringMatching(message)});
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

beforeAll(() => {
  requireTools('qemu-img', 'qemu-io');
  tmp = tempDir('tdxw-fuzz-');
  dir = tmp.path;
  img('create', '-q', '-f', 'qcow2', 'plain.qcow2', '8M');
  sh('qemu-io', ['-f', 'qcow2', '-c', 'write -q -P 0x5a 0 1M', '-c', 'write -q -P 0xa5 7M 1M', 'plain.qcow2'], {cwd: dir});
  img('convert', '-c', '-O', 'qcow2', 'plain.qcow2', 'compressed.qcow2');
  plain = readFileSync(join(dir, 'plain.qcow2'));
  compressed = readFileSync(join(dir, 'compressed.qcow2'));
});
afterAll(() => tmp?.remove());

describe('broken headers are refused with a clear error', () => {
  const header: Array<[string, (b: Buffer) => Buffer | void, ImageErrorCode, RegExp]> = [
    ['truncated to 50 bytes', (b) => b.subarray(0, 50), 'corrupt', /truncated or corrupt/],
    ['truncated to 100 bytes (v3 header)', (b) => b.subarray(0, 100), 'corrupt', /truncated or corrupt/],
    ['truncated before the L1 table', (b) => b.subarray(0, u64(b, 40)), 'corrupt', /truncated or corrupt.*L1/],
    ['version 4', (b) => void b.writeUInt32BE(4, 4), 'unsupported', /version 4/],
    ['version 1', (b) => void b.writeUInt32BE(1, 4), 'unsupported', /version 1/],
    ['unknown incompatible bit 5', (b) => void b.writeUInt8(b[79]! | 0x20, 79), 'unsupported', /unknown incompatible feature bit 5/],
    ['unknown incompatible bit 63', (b) => void b.writeUInt8(0x80, 72), 'unsupported', /unknown incompatible feature bit 63/],
    ['external data file bit', (b) => void b.writeUInt8(b[79]! | 0x04, 79), 'unsupported', /external data file/],
    ['zstd without its feature bit', (b) => void b.writeUInt8(1, 104), 'corrupt', /compression_type 1/],
    ['zstd with its feature bit', (b) => (b.writeUInt8(1, 104), void b.writeUInt8(b[79]! | 0x08, 79)), 'unsupported', /zstd/],
    ['cluster_bits 8', (b) => void b.writeUInt32BE(8, 20), 'unsupported', /cluster_bits 8/],
    ['cluster_bits 22', (b) => void b.writeUInt32BE(22, 20), 'unsupported', /cluster_bits 22/],
    ['l1_size 2^31-1', (b) => void b.writeUInt32BE(2 ** 31 - 1, 36), 'unsupported', /L1 table .* larger than/],
    ['l1_size 0 for an 8 MiB disk', (b) => void b.writeUInt32BE(0, 36), 'corrupt', /L1 table .* too small/],
    ['virtual size 2^50 with the old L1 table', (b) => void b.writeBigUInt64BE(2n ** 50n, 24), 'corrupt', /L1 table .* too small/],
    ['virtual size 2^60 needs an L1 beyond 32 MiB', (b) => (b.writeBigUInt64BE(2n ** 50n, 24), void b.writeUInt32BE(2 ** 23, 36)), 'unsupported', /larger than/],
    ['virtual size 2^63', (b) => void b.writeBigUInt64BE(2n ** 63n, 24), 'unsupported', /virtual size/],
    ['misaligned L1 table', (b) => void b.writeBigUInt64BE(BigInt(u64(b, 40) + 8), 40), 'corrupt', /not cluster-aligned/],
    ['L1 table past the end', (b) => void b.writeBigUInt64BE(2n ** 40n, 40), 'corrupt', /truncated or corrupt/],
    ['misaligned refcount table', (b) => void b.writeBigUInt64BE(BigInt(u64(b, 48) + 512), 48), 'corrupt', /refcount table/],
    ['header_length 100', (b) => void b.writeUInt32BE(100, 100), 'corrupt', /header_length 100/],
    ['header_length 108 (not a multiple of 8)', (b) => void b.writeUInt32BE(108, 100), 'corrupt', /header_length/],
    ['header_length past the first cluster', (b) => void b.writeUInt32BE(1 << 20, 100), 'corrupt', /header_length/],
    ['AES encryption', (b) => void b.writeUInt32BE(1, 32), 'encrypted', /encrypted \(AES\)/],
    ['LUKS encryption', (b) => void b.writeUInt32BE(2, 32), 'encrypted', /encrypted \(LUKS\)/],
    ['backing_file_size 2000', (b) => (b.writeBigUInt64BE(4000n, 8), void b.writeUInt32BE(2000, 16)), 'corrupt', /longer than 1023/],
    ['backing name past the header cluster', (b) => (b.writeBigUInt64BE(65530n, 8), void b.writeUInt32BE(100, 16)), 'corrupt', /outside the header cluster/],
    ['header extension longer than the cluster', (b) => void b.writeUInt32BE(0x7fffffff, b.readUInt32BE(100) + 4), 'corrupt', /header extension/],
  ];

  it.each(header)('%s', async (name, edit, code, message) => {
    await expectRefused(variant(`${name.replace(/\W+/g, '-')}.qcow2`, plain, edit), code, message);
  }, 5000);

  it('bad magic: not qcow2 when asked for qcow2; auto-detect reads it as raw', async () => {
    const path = variant('bad-magic.qcow2', plain, (b) => void b.write('QFIX', 0, 'latin1'));
    await expect(openImage(path, {format: 'qcow2'})).rejects.toMatchObject({code: 'bad-magic'});
    const reader = await openImage(path);
    expect(reader.format).toBe('raw');
    await reader.close();
  });
});

describe('broken mappings are refused when read', () => {
  it('L2 table pointer past the end of the file', async () => {
    const path = variant('l2-past-eof.qcow2', plain, (b) => void b.writeBigUInt64BE(0x8000000000000000n | 2n ** 40n, u64(b, 40)));
    await expectRefused(path, 'corrupt', /truncated or corrupt.*L2 table/);
  });

  it('misaligned L2 table pointer', async () => {
    const path = variant('l2-misaligned.qcow2', plain, (b) => void b.writeBigUInt64BE(BigInt(firstL2Entry(b).l2 + 512), u64(b, 40)));
    await expectRefused(path, 'corrupt', /L2 table offset .* not aligned/);
  });

  it('data cluster past the end of the file', async () => {
    const path = variant('data-past-eof.qcow2', plain, (b) => void b.writeBigUInt64BE(0x8000000000000000n | 2n ** 36n, firstL2Entry(b).entry));
    await expectRefused(path, 'corrupt', /truncated or corrupt.*data cluster/);
  });

  it('misaligned data cluster', async () => {
    const path = variant('data-misaligned.qcow2', plain, (b) => {
      const {entry} = firstL2Entry(b);
      b.writeBigUInt64BE(b.readBigUInt64BE(entry) + 512n, entry);
    });
    await expectRefused(path, 'corrupt', /not aligned/);
  });

  it('compressed descriptor pointing past the end of the file', async () => {
    const path = variant('compressed-past-eof.qcow2', compressed, (b) => {
      const {entry} = firstL2Entry(b);
      const value = b.readBigUInt64BE(entry);
      expect(value & (1n << 62n), 'the first entry is compressed').not.toBe(0n);
      // 64 KiB clusters: the byte offset is the low 54 bits.
      const offsetMask = (1n << 54n) - 1n;
      b.writeBigUInt64BE((value & ~offsetMask) | BigInt(b.length + 4096), entry);
    });
    await expectRefused(path, 'corrupt', /truncated or corrupt.*compressed cluster/);
  });

  it('compressed data that does not inflate', async () => {
    const path = variant('compressed-garbage.qcow2', compressed, (b) => {
      const {entry} = firstL2Entry(b);
      const offset = Number(b.readBigUInt64BE(entry) & ((1n << 54n) - 1n));
      b.fill(0xff, offset, offset + 64);
    });
    await expectRefused(path, 'corrupt', /compressed cluster/);
  });

  it('a file truncated anywhere ends cleanly', async () => {
    for (const fraction of [0.02, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9]) {
      const result = await outcome(variant(`cut-${fraction}.qcow2`, plain, (b) => b.subarray(0, Math.floor(b.length * fraction))));
      expect(result, `cut at ${fraction}`).toMatchObject({code: 'corrupt', message: expect.stringMatching(/truncated or corrupt/)});
    }
    // Cut inside the last data cluster: qemu reads the missing tail as zeros (and qemu-img check
    // finds no error), so the reader does the same rather than refusing what qemu accepts.
    const path = variant('cut-tail.qcow2', plain, (b) => b.subarray(0, b.length - 30_000));
    expect(await outcome(path)).toBe('ok');
    img('convert', '-O', 'raw', path, 'cut-tail.raw');
    const reader = await openImage(path);
    expect((await reader.read(7 * MiB, MiB)).equals(readFileSync(join(dir, 'cut-tail.raw')).subarray(7 * MiB))).toBe(true);
    await reader.close();
  });
});

describe('backing chains that must not be followed', () => {
  it('a loop A -> B -> A, and an image backed by itself', async () => {
    img('create', '-q', '-f', 'qcow2', 'loop-b.qcow2', '8M');
    img('create', '-q', '-f', 'qcow2', '-b', 'loop-b.qcow2', '-F', 'qcow2', 'loop-a.qcow2');
    img('rebase', '-u', '-b', 'loop-a.qcow2', '-F', 'qcow2', 'loop-b.qcow2');
    await expectRefused(join(dir, 'loop-a.qcow2'), 'backing', /loops/);
    img('create', '-q', '-f', 'qcow2', 'self.qcow2', '8M');
    img('rebase', '-u', '-b', 'self.qcow2', '-F', 'qcow2', 'self.qcow2');
    await expectRefused(join(dir, 'self.qcow2'), 'backing', /loops/);
  });

  it.each([['nbd:localhost:10809'], ['json:{"file.driver":"file","file.filename":"/etc/passwd"}'], ['http://example.com/x.img'], ['file:plain.qcow2']])(
    'a protocol backing name: %s',
    async (name) => {
      const path = join(dir, `proto-${name.slice(0, 4)}.qcow2`);
      img('create', '-q', '-f', 'qcow2', path, '8M');
      img('rebase', '-u', '-b', name, '-F', 'raw', path);
      await expectRefused(path, 'backing', /protocol name/);
    },
    5000,
  );

  it('a missing backing file', async () => {
    img('create', '-q', '-f', 'qcow2', 'orphan.qcow2', '8M');
    img('rebase', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'orphan.qcow2');
    await expectRefused(join(dir, 'orphan.qcow2'), 'backing', /backing file "gone.qcow2" cannot be used/);
  });

  it('a backing format other than qcow2 or raw', async () => {
    img('create', '-q', '-f', 'qcow2', 'vmdk-backed.qcow2', '8M');
    img('rebase', '-u', '-b', 'plain.qcow2', '-F', 'vmdk', 'vmdk-backed.qcow2');
    await expectRefused(join(dir, 'vmdk-backed.qcow2'), 'unsupported', /backing format "vmdk"/);
  });

  it('16 backing files are followed, 17 are not', async () => {
    copyFileSync(join(dir, 'plain.qcow2'), join(dir, 'chain-0.qcow2'));
    for (let i = 1; i <= 17; i++) img('create', '-q', '-f', 'qcow2', '-b', `chain-${i - 1}.qcow2`, '-F', 'qcow2', `chain-${i}.qcow2`);
    const ok = await openImage(join(dir, 'chain-16.qcow2'));
    expect(ok.info.backingChain).toHaveLength(16);
    expect((await ok.read(0, 4)).toString('hex')).toBe('5a5a5a5a');
    await ok.close();
    await expectRefused(join(dir, 'chain-17.qcow2'), 'backing', /deeper than 16/);
  });
});

describe('random damage', () => {
  it('200 seeded mutations of the header, extensions and tables end cleanly and quickly', async () => {
    const random = prng(0x7d1);
    const {l1, l2} = firstL2Entry(plain);
    const counts = {ok: 0, refused: 0};
    let slowest = 0;
    for (let i = 0; i < 200; i++) {
      const path = variant(`mutant-${i}.qcow2`, plain, (b) => {
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; f++) {
          const r = random();
          // Most flips hit the header fields, where a bad value changes what everything else means.
          const at = r < 0.6 ? Math.floor(random() * 112) : r < 0.8 ? 112 + Math.floor(random() * 400) : r < 0.9 ? l1 + Math.floor(random() * 16) : l2 + Math.floor(random() * 256);
          b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
        }
      });
      const started = performance.now();
      const result = await outcome(path);
      slowest = Math.max(slowest, performance.now() - started);
      counts[result === 'ok' ? 'ok' : 'refused']++;
    }
    expect(counts.ok + counts.refused).toBe(200);
    expect(counts.refused).toBeGreaterThan(20);
    expect(slowest).toBeLessThan(DEADLINE_MS);
  }, 30_000);
});
