// Read-only view of a qcow2 or raw image file, without attaching it (no qemu-nbd, no root).
// Everything is read with positional reads; nothing ever loads the whole file, and a hostile
// header can make us allocate at most a few MiB (one L1 page, a few L2 tables, one cluster).
import {constants as fsConstants} from 'node:fs';
import {open, type FileHandle} from 'node:fs/promises';
import {dirname, isAbsolute, resolve} from 'node:path';

export type ImageFormat = 'qcow2' | 'raw';

export type ImageErrorCode =
  | 'io' // the file could not be opened or read
  | 'not-a-file' // a directory, FIFO, device...
  | 'bad-magic' // asked for qcow2 but the file is not one
  | 'unsupported' // a valid image using something this reader does not implement
  | 'encrypted' // qcow2-level encryption: the guest data is ciphertext
  | 'corrupt' // inconsistent metadata, or pointers past the end of the file
  | 'backing' // the backing chain cannot be followed safely
  | 'closed'
  | 'range'; // bad arguments to read()

export class ImageError extends Error {
  constructor(
    message: string,
    readonly code: ImageErrorCode,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

export interface BackingEntry {
  /** Absolute path of the backing file. */
  path: string;
  /** The name as written in the parent's header. */
  name: string;
  format: ImageFormat;
  virtualSize: number;
}

export interface ImageInfo {
  /** 2 or 3 for qcow2; 0 for raw. */
  version: number;
  /** 0 for raw. */
  clusterBits: number;
  clusterSize: number;
  headerLength: number;
  /** Refcounts may be stale (qemu did not close it cleanly); L1/L2 are still authoritative. */
  dirty: boolean;
  /** qemu flagged the image as corrupt: reading works but the caller should warn. */
  corrupt: boolean;
  lazyRefcounts: boolean;
  extendedL2: boolean;
  compressionType: 'zlib' | 'none';
  /** Always false for an opened image: encrypted images are refused with code 'encrypted'. */
  encrypted: boolean;
  snapshots: number;
  /** Host size of the top file. */
  fileSize: number;
  /** Immediate backing file first. */
  backingChain: BackingEntry[];
}

export interface ImageReader {
  path: string;
  format: ImageFormat;
  virtualSize: number;
  info: ImageInfo;
  /** Guest view; at most 64 MiB per call. Bytes past the virtual size read as zeros. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export interface OpenOptions {
  format?: ImageFormat | 'auto';
}

const QCOW2_MAGIC = 0x514649fb;
const MAX_CHAIN_DEPTH = 16;
const MAX_READ = 64 * 1024 * 1024;
// qemu's own limit on the active L1 table (QCOW_MAX_L1_SIZE).
const MAX_L1_BYTES = 32 * 1024 * 1024;
const L1_PAGE_ENTRIES = 8192;
const L2_CACHE_BYTES = 4 * 1024 * 1024;
const COMPRESSED_CACHE_BYTES = 4 * 1024 * 1024;
const INCOMPAT_DIRTY = 1;
const INCOMPAT_CORRUPT = 2;
const INCOMPAT_DATA_FILE = 4;
const INCOMPAT_COMPRESSION = 8;
const INCOMPAT_EXTL2 = 16;
const INCOMPAT_KNOWN = 0x1f;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;
const TWO32 = 2 ** 32;

export function looksLikeQcow2(first4: Buffer): boolean {
  return first4.length >= 4 && first4.readUInt32BE(0) === QCOW2_MAGIC;
}

export async function openImage(path: string, opts: OpenOptions = {}): Promise<ImageReader> {
  const fullPath = resolve(path);
  const opened = await openLayer(fullPath, opts.format ?? 'auto', new Set(), 0);
  const {layer} = opened;
  let closed = false;
  const info: ImageInfo =
    layer instanceof Qcow2Layer
      ? {...layer.info, backingChain: opened.chain}
      : {
          version: 0,
          clusterBits: 0,
          clusterSize: 0,
          headerLength: 0,
          dirty: false,
          corrupt: false,
          lazyRefcounts: false,
          extendedL2: false,
          compressionType: 'none',
          encrypted: false,
          snapshots: 0,
          fileSize: layer.file.size,
          backingChain: [],
        };
  return {
    path: fullPath,
    format: layer.format,
    virtualSize: layer.size,
    info,
    async read(offset: number, length: number): Promise<Buffer> {
      if (closed) throw new ImageError(`${fullPath}: image is closed`, 'closed', fullPath);
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || length > MAX_READ) {
        throw new ImageError(`${fullPath}: bad read range (offset ${offset}, length ${length})`, 'range', fullPath);
      }
      const buf = Buffer.alloc(length);
      const end = Math.min(offset + length, layer.size);
      if (end > offset) await layer.readInto(buf, 0, offset, end - offset);
      return buf;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await layer.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Files and layers

class HostFile {
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly size: number,
  ) {}

  /** Reads into dst; a short file leaves the rest of dst as it was. Returns bytes read. */
  async readAt(dst: Buffer, dstOff: number, pos: number, len: number): Promise<number> {
    let done = 0;
    while (done < len) {
      let n: number;
      try {
        ({bytesRead: n} = await this.fh.read(dst, dstOff + done, len - done, pos + done));
      } catch (error) {
        throw new ImageError(`${this.path}: read failed at ${pos + done}: ${(error as Error).message}`, 'io', this.path);
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** Reads bytes that the metadata says must exist. */
  async readExact(pos: number, len: number, what: string): Promise<Buffer> {
    if (pos + len > this.size) throw truncated(this.path, `${what} at ${pos} (+${len}) is past the end of the file (${this.size} bytes)`);
    const buf = Buffer.alloc(len);
    const n = await this.readAt(buf, 0, pos, len);
    if (n !== len) throw truncated(this.path, `${what} at ${pos}: short read`);
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}

function truncated(path: string, detail: string): ImageError {
  return new ImageError(`${path}: truncated or corrupt image: ${detail}`, 'corrupt', path);
}

async function openHostFile(path: string, seen: Set<string>): Promise<HostFile> {
  let fh: FileHandle;
  try {
    // O_NONBLOCK so that a FIFO planted in place of an image cannot block the open forever.
    fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    throw new ImageError(`${path}: cannot open: ${(error as Error).message}`, 'io', path);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ImageError(`${path}: not a regular file`, 'not-a-file', path);
    // dev:ino catches loops through symlinks, hard links and differently spelled paths.
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) throw new ImageError(`${path}: backing chain loops back to a file already in the chain`, 'backing', path);
    seen.add(key);
    return new HostFile(fh, path, st.size);
  } catch (error) {
    await fh.close().catch(() => undefined);
    throw error;
  }
}

interface Layer {
  readonly format: ImageFormat;
  readonly size: number;
  readonly file: HostFile;
  /** Fills dst[dstOff, +len) with guest bytes from off. dst must be zeroed there; off+len <= size. */
  readInto(dst: Buffer, dstOff: number, off: number, len: number): Promise<void>;
  close(): Promise<void>;
}

class RawLayer implements Layer {
  readonly format = 'raw' as const;
  readonly size: number;
  constructor(readonly file: HostFile) {
    this.size = file.size;
  }
  async readInto(dst: Buffer, dstOff: number, off: number, len: number): Promise<void> {
    await this.file.readAt(dst, dstOff, off, len);
  }
  async close(): Promise<void> {
    await this.file.close();
  }
}

async function openLayer(path: string, format: ImageFormat | 'auto', seen: Set<string>, depth: number): Promise<{layer: Layer; chain: BackingEntry[]}> {
  const file = await openHostFile(path, seen);
  try {
    const magic = Buffer.alloc(4);
    await file.readAt(magic, 0, 0, 4);
    const isQcow2 = looksLikeQcow2(magic);
    if (format === 'qcow2' && !isQcow2) throw new ImageError(`${path}: not a qcow2 image (bad magic ${magic.toString('hex')})`, 'bad-magic', path);
    if (format === 'raw' || !isQcow2) return {layer: new RawLayer(file), chain: []};

    const header = parseHeader(await readHeaderCluster(file), file.size, path);
    let backing: {layer: Layer; chain: BackingEntry[]} | undefined;
    let entry: BackingEntry | undefined;
    if (header.backingName !== undefined) {
      if (depth + 1 > MAX_CHAIN_DEPTH) throw new ImageError(`${path}: backing chain is deeper than ${MAX_CHAIN_DEPTH} files`, 'backing', path);
      const backingPath = resolveBackingName(header.backingName, path);
      backing = await openLayer(backingPath, header.backingFormat ?? 'auto', seen, depth + 1).catch((error: unknown) => {
        // A missing or unusable backing file is a broken chain, named from the image that points at it.
        if (error instanceof ImageError && error.path === backingPath && (error.code === 'io' || error.code === 'not-a-file')) {
          throw new ImageError(`${path}: backing file "${header.backingName}" cannot be used: ${error.message}`, 'backing', path);
        }
        throw error;
      });
      entry = {path: backingPath, name: header.backingName, format: backing.layer.format, virtualSize: backing.layer.size};
    }
    const layer = new Qcow2Layer(file, header, backing?.layer);
    return {layer, chain: entry && backing ? [entry, ...backing.chain] : []};
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** The first cluster (header, extensions, backing name), or as much of it as the file has. */
async function readHeaderCluster(file: HostFile): Promise<Buffer> {
  const first = Buffer.alloc(Math.min(file.size, 4096));
  await file.readAt(first, 0, 0, first.length);
  const bits = first.length >= 24 ? first.readUInt32BE(20) : 0;
  // Only a valid cluster_bits may grow the read, so a hostile value costs nothing.
  if (bits < 13 || bits > 21 || file.size <= first.length) return first;
  const whole = Buffer.alloc(Math.min(file.size, 2 ** bits));
  await file.readAt(whole, 0, 0, whole.length);
  return whole;
}

function resolveBackingName(name: string, imagePath: string): string {
  // qemu's path_has_protocol(): a ':' before any '/' makes it a protocol (nbd:, json:, http:, file:...).
  const colon = name.indexOf(':');
  const slash = name.indexOf('/');
  if (colon >= 0 && (slash < 0 || colon < slash)) {
    throw new ImageError(`${imagePath}: backing file "${name}" is a protocol name, not a file; refusing to follow it`, 'backing', imagePath);
  }
  return isAbsolute(name) ? name : resolve(dirname(imagePath), name);
}

// ---------------------------------------------------------------------------------------------
// Header

interface Header {
  version: number;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1Offset: number;
  incompat: number;
  compat: number;
  headerLength: number;
  snapshots: number;
  backingName?: string;
  backingFormat?: ImageFormat;
}

function u64(buf: Buffer, at: number): number {
  // Above 2^53 the value is rounded, but every caller compares it with a file or virtual size
  // that is far smaller, so the rounding can never turn a bad value into a good one.
  return buf.readUInt32BE(at) * TWO32 + buf.readUInt32BE(at + 4);
}

function parseHeader(buf: Buffer, fileSize: number, path: string): Header {
  const bad = (message: string, code: ImageErrorCode = 'corrupt') => new ImageError(`${path}: ${message}`, code, path);
  if (buf.length < 72) throw truncated(path, `the qcow2 header needs 72 bytes, the file has ${fileSize}`);
  const version = buf.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw bad(`qcow2 version ${version} is not supported (only 2 and 3)`, 'unsupported');
  const backingOffset = u64(buf, 8);
  const backingSize = buf.readUInt32BE(16);
  const clusterBits = buf.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw bad(`cluster_bits ${clusterBits} is outside 9..21 (512 B to 2 MiB clusters)`, 'unsupported');
  const clusterSize = 2 ** clusterBits;
  const size = u64(buf, 24);
  if (!Number.isSafeInteger(size)) throw bad(`virtual size ${size} is too large`, 'unsupported');
  const cryptMethod = buf.readUInt32BE(32);
  if (cryptMethod !== 0) {
    const kind = cryptMethod === 1 ? 'AES' : cryptMethod === 2 ? 'LUKS' : `method ${cryptMethod}`;
    throw bad(`the image is encrypted (${kind}); its contents cannot be read without the key`, 'encrypted');
  }
  const l1Size = buf.readUInt32BE(36);
  const l1Offset = u64(buf, 40);
  const refcountOffset = u64(buf, 48);
  const snapshots = buf.readUInt32BE(60);
  const snapshotsOffset = u64(buf, 64);

  let incompat = 0;
  let compat = 0;
  let headerLength = 72;
  let compressionType = 0;
  if (version === 3) {
    if (buf.length < 104) throw truncated(path, `the qcow2 v3 header needs 104 bytes, the file has ${fileSize}`);
    // Only the low 32 bits have defined features; any high bit is unknown and must refuse.
    const incompatHigh = buf.readUInt32BE(72);
    incompat = buf.readUInt32BE(76);
    compat = buf.readUInt32BE(84);
    const refcountOrder = buf.readUInt32BE(96);
    headerLength = buf.readUInt32BE(100);
    if (headerLength < 104 || headerLength % 8 !== 0 || headerLength > clusterSize) {
      throw bad(`header_length ${headerLength} is invalid (v3 needs at least 104, a multiple of 8, within the first cluster)`);
    }
    if (buf.length < headerLength) throw truncated(path, `header_length ${headerLength} is past the end of the file`);
    if (headerLength > 104) compressionType = buf[104] ?? 0;
    if (refcountOrder > 6) throw bad(`refcount_order ${refcountOrder} is invalid`);
    const unknown = incompat & ~INCOMPAT_KNOWN;
    if (incompatHigh !== 0 || unknown !== 0) {
      const bits = [...bitList(incompatHigh, 32), ...bitList(unknown >>> 0, 0)];
      const names = featureNames(buf, headerLength, Math.min(buf.length, clusterSize));
      const described = bits.map((b) => (names.get(b) ? `${b} (${names.get(b)})` : String(b)));
      throw bad(`unknown incompatible feature bit ${described.join(', ')}; refusing to guess what it means`, 'unsupported');
    }
    if (incompat & INCOMPAT_DATA_FILE) throw bad('the image uses an external data file, which this reader does not follow', 'unsupported');
    if (compressionType !== 0) {
      if (!(incompat & INCOMPAT_COMPRESSION)) throw bad(`compression_type ${compressionType} is set without its incompatible feature bit`);
      throw bad(compressionType === 1 ? 'zstd compression is not supported (only zlib)' : `unknown compression type ${compressionType}`, 'unsupported');
    }
    if (incompat & INCOMPAT_EXTL2 && clusterBits < 14) throw bad(`extended L2 entries need clusters of at least 16 KiB, not ${clusterSize}`);
  }

  const l2Entries = clusterSize / (incompat & INCOMPAT_EXTL2 ? 16 : 8);
  const l1Needed = Math.ceil(Math.ceil(size / clusterSize) / l2Entries);
  if (l1Size * 8 > MAX_L1_BYTES) throw bad(`L1 table of ${l1Size} entries is larger than qemu's 32 MiB limit`, 'unsupported');
  // Larger than needed is legitimate: `qemu-img resize --shrink` keeps the old L1 size.
  if (l1Size < l1Needed) throw bad(`L1 table of ${l1Size} entries is too small for a ${size}-byte disk (needs ${l1Needed})`);
  if (l1Size > 0) {
    if (l1Offset === 0 || l1Offset % clusterSize !== 0) throw bad(`L1 table offset ${l1Offset} is not cluster-aligned`);
    if (l1Offset + l1Size * 8 > fileSize) throw truncated(path, `L1 table at ${l1Offset} (${l1Size} entries) is past the end of the file`);
  }
  if (refcountOffset % clusterSize !== 0) throw bad(`refcount table offset ${refcountOffset} is not cluster-aligned`);
  if (snapshots > 0 && snapshotsOffset % clusterSize !== 0) throw bad(`snapshot table offset ${snapshotsOffset} is not cluster-aligned`);

  const header: Header = {version, clusterBits, size, l1Size, l1Offset, incompat, compat, headerLength, snapshots};
  const extEnd = Math.min(backingOffset !== 0 ? backingOffset : clusterSize, buf.length);
  for (let p = headerLength; p + 8 <= extEnd; ) {
    const type = buf.readUInt32BE(p);
    const len = buf.readUInt32BE(p + 4);
    p += 8;
    if (type === 0) break;
    if (len > extEnd - p) throw bad(`header extension 0x${type.toString(16)} runs past the header area`);
    if (type === EXT_BACKING_FORMAT) {
      const name = cString(buf.subarray(p, p + len));
      if (name !== 'qcow2' && name !== 'raw') throw bad(`backing format "${name}" is not supported (only qcow2 and raw)`, 'unsupported');
      header.backingFormat = name;
    }
    p += Math.ceil(len / 8) * 8;
  }

  if (backingOffset !== 0 && backingSize > 0) {
    if (backingSize > 1023) throw bad(`backing file name of ${backingSize} bytes is longer than 1023`);
    if (backingOffset + backingSize > Math.min(clusterSize, buf.length)) throw truncated(path, 'backing file name is outside the header cluster');
    const raw = buf.subarray(backingOffset, backingOffset + backingSize);
    if (raw.includes(0)) throw bad('backing file name contains a NUL byte', 'backing');
    let name: string;
    try {
      name = new TextDecoder('utf-8', {fatal: true}).decode(raw);
    } catch {
      throw bad('backing file name is not valid UTF-8', 'backing');
    }
    header.backingName = name;
  }
  return header;
}

function bitList(value: number, base: number): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if ((value >>> b) & 1) bits.push(base + b);
  return bits;
}

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('latin1');
}

/** Names of incompatible features from the image's own feature table, to make the refusal readable. */
function featureNames(buf: Buffer, start: number, end: number): Map<number, string> {
  const names = new Map<number, string>();
  for (let p = start; p + 8 <= end; ) {
    const type = buf.readUInt32BE(p);
    const len = buf.readUInt32BE(p + 4);
    p += 8;
    if (type === 0 || len > end - p) break;
    if (type === EXT_FEATURE_NAMES) {
      for (let q = p; q + 48 <= p + len; q += 48) {
        if (buf[q] === 0) names.set(buf[q + 1] ?? 0, cString(buf.subarray(q + 2, q + 48)));
      }
    }
    p += Math.ceil(len / 8) * 8;
  }
  return names;
}

// ---------------------------------------------------------------------------------------------
// Cluster mapping

/** A small LRU of in-flight or finished loads, bounded by total cost in bytes. */
class Lru<V> {
  private readonly map = new Map<number, {value: Promise<V>; cost: number}>();
  private total = 0;
  constructor(private readonly maxCost: number) {}

  get(key: number, cost: number, load: () => Promise<V>): Promise<V> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit.value;
    }
    const entry = {value: load(), cost};
    this.map.set(key, entry);
    this.total += cost;
    // A failed load must not stay cached: the next read should try (and fail) again.
    entry.value.catch(() => {
      if (this.map.get(key) === entry) {
        this.map.delete(key);
        this.total -= cost;
      }
    });
    for (const [k, e] of this.map) {
      if (this.total <= this.maxCost || this.map.size <= 1) break;
      this.map.delete(k);
      this.total -= e.cost;
    }
    return entry.value;
  }
}

type Run = {kind: 'host' | 'backing'; src: number; dst: number; len: number};

class Qcow2Layer implements Layer {
  readonly format = 'qcow2' as const;
  readonly size: number;
  readonly info: ImageInfo;
  private readonly clusterSize: number;
  private readonly extL2: boolean;
  private readonly l2Entries: number;
  private readonly l1Pages = new Lru<Buffer>(1024 * 1024);
  private readonly l2Tables: Lru<Buffer>;
  private readonly compressed: Lru<Buffer>;

  constructor(
    readonly file: HostFile,
    private readonly header: Header,
    private readonly backing: Layer | undefined,
  ) {
    this.size = header.size;
    this.clusterSize = 2 ** header.clusterBits;
    this.extL2 = (header.incompat & INCOMPAT_EXTL2) !== 0;
    this.l2Entries = this.clusterSize / (this.extL2 ? 16 : 8);
    this.l2Tables = new Lru(L2_CACHE_BYTES);
    this.compressed = new Lru(COMPRESSED_CACHE_BYTES);
    this.info = {
      version: header.version,
      clusterBits: header.clusterBits,
      clusterSize: this.clusterSize,
      headerLength: header.headerLength,
      dirty: (header.incompat & INCOMPAT_DIRTY) !== 0,
      corrupt: (header.incompat & INCOMPAT_CORRUPT) !== 0,
      lazyRefcounts: (header.compat & 1) !== 0,
      extendedL2: this.extL2,
      compressionType: 'zlib',
      encrypted: false,
      snapshots: header.snapshots,
      fileSize: file.size,
      backingChain: [],
    };
  }

  async close(): Promise<void> {
    await this.file.close();
    await this.backing?.close();
  }

  async readInto(dst: Buffer, dstOff: number, off: number, len: number): Promise<void> {
    const cs = this.clusterSize;
    const end = off + len;
    let run: Run | undefined;
    const emit = async (kind: Run['kind'], src: number, at: number, n: number): Promise<void> => {
      // Neighbouring clusters are often contiguous on the host too: one pread instead of many.
      if (run && run.kind === kind && run.src + run.len === src && run.dst + run.len === at) {
        run.len += n;
        return;
      }
      if (run) await this.flush(run, dst);
      run = {kind, src, dst: at, len: n};
    };

    for (let pos = off; pos < end; ) {
      const cluster = Math.floor(pos / cs);
      const base = cluster * cs;
      const stop = Math.min(end, base + cs);
      const at = dstOff + (pos - off);
      const e = await this.entry(cluster);
      if (e.compressed) {
        const data = await this.decompress(e.hi, e.lo);
        data.copy(dst, at, pos - base, stop - base);
      } else if (!this.extL2) {
        const host = hostOffset(e.hi, e.lo);
        if (e.lo & 1) {
          // zero flag: reads as zeros whatever the offset says
        } else if (host === 0) {
          await emit('backing', pos, at, stop - pos);
        } else {
          this.checkData(host, cluster);
          await emit('host', host + (pos - base), at, stop - pos);
        }
      } else {
        const host = hostOffset(e.hi, e.lo);
        const sub = cs / 32;
        if ((e.allocBits & e.zeroBits) !== 0) throw this.corrupt(`cluster ${cluster} has subclusters both allocated and zero`);
        if (host === 0 && e.allocBits !== 0) throw this.corrupt(`cluster ${cluster} has allocated subclusters but no host cluster`);
        if (host !== 0) this.checkData(host, cluster);
        for (let p = pos; p < stop; ) {
          const s = Math.floor((p - base) / sub);
          const subStop = Math.min(stop, base + (s + 1) * sub);
          const a = dstOff + (p - off);
          if ((e.zeroBits >>> s) & 1) {
            // reads as zeros
          } else if ((e.allocBits >>> s) & 1) {
            await emit('host', host + (p - base), a, subStop - p);
          } else {
            await emit('backing', p, a, subStop - p);
          }
          p = subStop;
        }
      }
      pos = stop;
    }
    if (run) await this.flush(run, dst);
  }

  private async flush(run: Run, dst: Buffer): Promise<void> {
    if (run.kind === 'host') {
      // Past the end of the file qemu reads zeros; the start of the cluster was checked to exist.
      await this.file.readAt(dst, run.dst, run.src, run.len);
    } else if (this.backing && run.src < this.backing.size) {
      await this.backing.readInto(dst, run.dst, run.src, Math.min(run.len, this.backing.size - run.src));
    }
  }

  private checkData(host: number, cluster: number): void {
    if (host % this.clusterSize !== 0) throw this.corrupt(`data cluster offset ${host} for guest cluster ${cluster} is not aligned`);
    if (host >= this.file.size) throw truncated(this.file.path, `data cluster at ${host} for guest cluster ${cluster} is past the end of the file`);
  }

  private corrupt(detail: string): ImageError {
    return new ImageError(`${this.file.path}: corrupt image: ${detail}`, 'corrupt', this.file.path);
  }

  /** The L2 entry for a guest cluster, split in 32-bit halves to stay out of BigInt. */
  private async entry(cluster: number): Promise<{hi: number; lo: number; compressed: boolean; allocBits: number; zeroBits: number}> {
    const unallocated = {hi: 0, lo: 0, compressed: false, allocBits: 0, zeroBits: 0};
    const l1Index = Math.floor(cluster / this.l2Entries);
    const l2Index = cluster % this.l2Entries;
    const page = Math.floor(l1Index / L1_PAGE_ENTRIES);
    const entries = Math.min(L1_PAGE_ENTRIES, this.header.l1Size - page * L1_PAGE_ENTRIES);
    const l1 = await this.l1Pages.get(page, entries * 8, () =>
      this.file.readExact(this.header.l1Offset + page * L1_PAGE_ENTRIES * 8, entries * 8, 'L1 table'),
    );
    const at = (l1Index % L1_PAGE_ENTRIES) * 8;
    const l2Offset = hostOffset(l1.readUInt32BE(at), l1.readUInt32BE(at + 4));
    if (l2Offset === 0) return unallocated;
    if (l2Offset % this.clusterSize !== 0) throw this.corrupt(`L2 table offset ${l2Offset} (L1 index ${l1Index}) is not aligned`);
    const l2 = await this.l2Tables.get(l2Offset, this.clusterSize, () => this.file.readExact(l2Offset, this.clusterSize, 'L2 table'));
    const p = l2Index * (this.extL2 ? 16 : 8);
    const hi = l2.readUInt32BE(p);
    const lo = l2.readUInt32BE(p + 4);
    const bitmap = this.extL2 ? {zeroBits: l2.readUInt32BE(p + 8), allocBits: l2.readUInt32BE(p + 12)} : {zeroBits: 0, allocBits: 0};
    return {hi, lo, compressed: (hi & 0x40000000) !== 0, ...bitmap};
  }

  private decompress(hi: number, lo: number): Promise<Buffer> {
    const cs = this.clusterSize;
    const cb = this.header.clusterBits;
    // The descriptor: byte offset in the low (62 - (cb - 8)) bits, extra 512-byte sectors above it.
    const shift = 62 - (cb - 8) - 32;
    const offset = (hi & ((1 << shift) - 1)) * TWO32 + lo;
    const sectors = ((hi >>> shift) & ((1 << (cb - 8)) - 1)) + 1;
    const length = sectors * 512 - (offset % 512);
    return this.compressed.get(offset, cs, async () => {
      if (offset >= this.file.size) throw truncated(this.file.path, `compressed cluster at ${offset} is past the end of the file`);
      const input = Buffer.alloc(Math.min(length, this.file.size - offset));
      await this.file.readAt(input, 0, offset, input.length);
      // zlib is loaded at the first compressed cluster only: volumes rarely have any, and loading
      // it is 3-4 ms of every verify's start.
      const {constants: zlibConstants, inflateRawSync} = await import('node:zlib');
      let out: Buffer;
      try {
        // Trailing bytes may belong to the next compressed cluster; the output is capped at one cluster.
        out = inflateRawSync(input, {maxOutputLength: cs, finishFlush: zlibConstants.Z_SYNC_FLUSH});
      } catch (error) {
        throw this.corrupt(`compressed cluster at ${offset} does not decompress: ${(error as Error).message}`);
      }
      if (out.length !== cs) throw this.corrupt(`compressed cluster at ${offset} gives ${out.length} bytes, not ${cs}`);
      return out;
    });
  }
}

/** Bits 9..55 of an L1 or standard L2 entry. */
function hostOffset(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * TWO32 + ((lo & 0xfffffe00) >>> 0);
}
