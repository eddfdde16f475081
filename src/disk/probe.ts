// What is on a volume, from its first 64 KiB: ext2/3/4, LUKS1/2, XFS, all zeros, or something else.
// Works on any guest view (an ImageReader from qcow2.ts, or a test double).

export interface VolumeView {
  read(offset: number, length: number): Promise<Buffer>;
  virtualSize: number;
}

export type ProbeType = 'ext4' | 'ext3' | 'ext2' | 'crypto_LUKS' | 'xfs' | 'empty' | 'unknown';

export interface Probe {
  type: ProbeType;
  label?: string;
  uuid?: string;
  /** LUKS header version (1 or 2). */
  version?: number;
  /** LUKS2 second label. */
  subsystem?: string;
  /** Filesystem size as recorded in its superblock. */
  sizeBytes?: number;
  blockSize?: number;
  state?: 'clean' | 'not-clean' | 'errors';
  /**
   * The conditions under which resize2fs demands `e2fsck -f` first: not cleanly unmounted or
   * errors, mounted since the last check, free counts above totals, orphan list, journal to replay.
   */
  needsFsck?: boolean;
  /** The journal has to be replayed (ext3/4 not unmounted cleanly). */
  needsRecovery?: boolean;
  /** Errors the kernel recorded in the superblock (s_error_count) and the last one, when any. */
  errorCount?: number;
  lastError?: {time: number; func: string; line: number};
}

const HEAD = 64 * 1024;
const LUKS_MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]);

export async function probeVolume(view: VolumeView): Promise<Probe> {
  const length = Math.max(0, Math.min(HEAD, view.virtualSize));
  const read = length > 0 ? await view.read(0, length) : Buffer.alloc(0);
  // Short volumes are padded so that every fixed-offset field below can be read safely.
  const head = read.length >= HEAD ? read : Buffer.concat([read, Buffer.alloc(HEAD - read.length)]);

  if (head.subarray(0, 6).equals(LUKS_MAGIC)) {
    const luks = probeLuks(head);
    if (luks) return luks;
  }
  if (head.toString('latin1', 0, 4) === 'XFSB') return probeXfs(head);
  const ext = probeExt(head.subarray(1024, 2048));
  if (ext) return ext;
  if (head.subarray(0, length).every((b) => b === 0)) return {type: 'empty'};
  return {type: 'unknown'};
}

function probeLuks(head: Buffer): Probe | undefined {
  const version = head.readUInt16BE(6);
  if (version === 1) return {type: 'crypto_LUKS', version, uuid: text(head, 168, 40)};
  if (version === 2) {
    const probe: Probe = {type: 'crypto_LUKS', version, uuid: text(head, 168, 40)};
    const label = utf8(head, 24, 48);
    const subsystem = utf8(head, 208, 48);
    if (label) probe.label = label;
    if (subsystem) probe.subsystem = subsystem;
    return probe;
  }
  return undefined;
}

function probeXfs(head: Buffer): Probe {
  const blockSize = head.readUInt32BE(4);
  const blocks = head.readUInt32BE(8) * 2 ** 32 + head.readUInt32BE(12);
  const probe: Probe = {type: 'xfs', uuid: formatUuid(head.subarray(32, 48))};
  const label = utf8(head, 108, 12);
  if (label) probe.label = label;
  const size = blocks * blockSize;
  if (blockSize > 0 && Number.isSafeInteger(size)) {
    probe.blockSize = blockSize;
    probe.sizeBytes = size;
  }
  return probe;
}

// Feature sets as libblkid draws the ext2/ext3/ext4 line: anything outside ext3's set makes it ext4.
const EXT3_INCOMPAT = 0x0002 | 0x0004 | 0x0010; // filetype, recover, meta_bg
const EXT3_RO_COMPAT = 0x0001 | 0x0002 | 0x0004; // sparse_super, large_file, btree_dir
const INCOMPAT_RECOVER = 0x0004;
const INCOMPAT_JOURNAL_DEV = 0x0008;
const INCOMPAT_64BIT = 0x0080;
const COMPAT_HAS_JOURNAL = 0x0004;
const STATE_VALID = 1;
const STATE_ERROR = 2;

function probeExt(sb: Buffer): Probe | undefined {
  if (sb.readUInt16LE(0x38) !== 0xef53) return undefined;
  const compat = sb.readUInt32LE(0x5c);
  const incompat = sb.readUInt32LE(0x60);
  const roCompat = sb.readUInt32LE(0x64);
  // An external journal device carries the magic too, but holds no filesystem.
  if (incompat & INCOMPAT_JOURNAL_DEV) return {type: 'unknown'};
  const type = incompat & ~EXT3_INCOMPAT || roCompat & ~EXT3_RO_COMPAT ? 'ext4' : compat & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';

  const rawState = sb.readUInt16LE(0x3a);
  const state = rawState & STATE_ERROR ? 'errors' : rawState & STATE_VALID ? 'clean' : 'not-clean';
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocks = sb.readUInt32LE(0x04) + (is64 ? sb.readUInt32LE(0x150) * 2 ** 32 : 0);
  const freeBlocks = sb.readUInt32LE(0x0c) + (is64 ? sb.readUInt32LE(0x158) * 2 ** 32 : 0);
  const countsInconsistent = freeBlocks > blocks || sb.readUInt32LE(0x10) > sb.readUInt32LE(0x00);
  // Timestamps carry an extra high byte since the 2038 fix; it is zero on older filesystems.
  const mtime = sb.readUInt32LE(0x2c) + (sb[0x275] ?? 0) * 2 ** 32;
  const lastCheck = sb.readUInt32LE(0x40) + (sb[0x277] ?? 0) * 2 ** 32;
  const orphans = sb.readUInt32LE(0xe8) !== 0;
  const needsRecovery = (incompat & INCOMPAT_RECOVER) !== 0;
  const probe: Probe = {
    type,
    uuid: formatUuid(sb.subarray(0x68, 0x78)),
    state,
    needsFsck: state !== 'clean' || lastCheck < mtime || countsInconsistent || orphans || needsRecovery,
    needsRecovery,
  };
  const errorCount = sb.readUInt32LE(0x194);
  if (errorCount > 0) {
    probe.errorCount = errorCount;
    const time = sb.readUInt32LE(0x1cc) + (sb[0x27f] ?? 0) * 2 ** 32;
    if (time) probe.lastError = {time, func: text(sb, 0x1e0, 32), line: sb.readUInt32LE(0x1d4)};
  }
  // The label is NUL-padded but not NUL-terminated when it fills all 16 bytes.
  const label = utf8(sb, 0x78, 16);
  if (label) probe.label = label;
  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock <= 6) {
    const blockSize = 1024 << logBlock;
    probe.blockSize = blockSize;
    if (Number.isSafeInteger(blocks * blockSize)) probe.sizeBytes = blocks * blockSize;
  }
  return probe;
}

function cut(buf: Buffer, at: number, length: number): Buffer {
  const field = buf.subarray(at, at + length);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function text(buf: Buffer, at: number, length: number): string {
  return cut(buf, at, length).toString('latin1');
}

function utf8(buf: Buffer, at: number, length: number): string {
  return cut(buf, at, length).toString('utf8');
}

function formatUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
