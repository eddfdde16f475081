// What growing an ext4 volume needs and whether it can reach the size asked for, computed from
// its superblock before anything is changed:
//   - the filesystem's limits: without the 64bit feature it cannot hold more than 2^32 blocks
//     (16 TiB with 4 KiB blocks); without meta_bg every group descriptor block has to sit behind the
//     superblock of each backup group, and past the blocks mke2fs reserved for that (resize_inode's
//     reserved GDT blocks) resize2fs must move data out of the way, which fails on a full or
//     flex_bg filesystem ("Could not allocate block");
//   - the host space resize2fs's metadata takes in the thin image: group descriptors and their
//     backups, backup superblocks, bitmaps, inode tables when they are zeroed (resize2fs skips that
//     when the kernel initialises them lazily and the groups carry checksums), qcow2 L2 tables.
import {existsSync} from 'node:fs';
import {dirname} from 'node:path';
import {UsageError} from '../errors.js';
import {freeBytes} from './space.js';
import {openImage} from '../disk/qcow2.js';
import {formatBytes} from './size.js';

export interface ExtGeometry {
  blockSize: number;
  blockCount: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  descSize: number;
  is64bit: boolean;
  metaBg: boolean;
  flexBg: boolean;
  groupsPerFlex: number;
  sparseSuper: boolean;
  groupChecksums: boolean;
  reservedGdtBlocks: number;
}

/** The geometry from the ext2/3/4 superblock (1024 bytes at offset 1024), or undefined. */
export function extGeometry(sb: Buffer): ExtGeometry | undefined {
  if (sb.length < 1024 || sb.readUInt16LE(0x38) !== 0xef53) return undefined;
  const compat = sb.readUInt32LE(0x5c);
  const incompat = sb.readUInt32LE(0x60);
  const roCompat = sb.readUInt32LE(0x64);
  const logBlock = sb.readUInt32LE(0x18);
  if (logBlock > 6) return undefined;
  const is64bit = (incompat & 0x80) !== 0;
  const descSize = is64bit ? Math.max(64, sb.readUInt16LE(0xfe)) : 32;
  const logFlex = sb[0x174] ?? 0;
  return {
    blockSize: 1024 << logBlock,
    blockCount: sb.readUInt32LE(0x04) + (is64bit ? sb.readUInt32LE(0x150) * 2 ** 32 : 0),
    firstDataBlock: sb.readUInt32LE(0x14),
    blocksPerGroup: sb.readUInt32LE(0x20),
    inodesPerGroup: sb.readUInt32LE(0x28),
    inodeSize: sb.readUInt16LE(0x58) || 128,
    descSize,
    is64bit,
    metaBg: (incompat & 0x10) !== 0,
    flexBg: (incompat & 0x200) !== 0,
    groupsPerFlex: (incompat & 0x200) !== 0 && logFlex < 31 ? 2 ** logFlex : 1,
    sparseSuper: (roCompat & 0x1) !== 0,
    // uninit_bg (GDT_CSUM) or metadata_csum
    groupChecksums: (roCompat & (0x10 | 0x400)) !== 0,
    reservedGdtBlocks: (compat & 0x10) !== 0 ? sb.readUInt16LE(0xce) : 0,
  };
}

export async function readExtGeometry(path: string, format: 'qcow2' | 'raw'): Promise<{geometry?: ExtGeometry; clusterSize: number}> {
  const image = await openImage(path, {format});
  try {
    return {geometry: extGeometry(await image.read(1024, 1024)), clusterSize: image.info.clusterSize || 4096};
  } finally {
    await image.close();
  }
}

/** Groups 0 and 1 and the powers of 3, 5 and 7 carry a backup superblock and descriptors (sparse_super). */
function backupGroupsBelow(groups: number, sparse: boolean): number {
  if (!sparse) return groups;
  const found = new Set([0, 1]);
  for (const base of [3, 5, 7]) for (let g = base; g < groups; g *= base) found.add(g);
  return [...found].filter((g) => g < groups).length;
}

export interface GrowPlan {
  /** Host bytes the grow's metadata takes in the image (an estimate, on the high side). */
  metadataBytes: number;
  /** Why the size cannot be reached, and the fix. */
  refusal?: {message: string; fix: string};
}

const ceil = (a: number, b: number) => Math.ceil(a / b);

export function planGrow(g: ExtGeometry, newSize: number, clusterSize: number, lazyItableInit = existsSync('/sys/fs/ext4/features/lazy_itable_init')): GrowPlan {
  const newBlocks = Math.floor(newSize / g.blockSize);
  const perGroup = g.blocksPerGroup;
  const groupBytes = perGroup * g.blockSize;
  // Without 64bit, block numbers are 32 bits.
  const maxBlocks32 = 2 ** 32 - 1;
  if (!g.is64bit && newBlocks > maxBlocks32) {
    // The most, in whole groups, that stays under 2^32 blocks.
    const most = Math.floor((maxBlocks32 - g.firstDataBlock) / perGroup) * groupBytes;
    return {
      metadataBytes: 0,
      refusal: {
        message: `its ext4 was made without the 64bit feature: with ${g.blockSize}-byte blocks it cannot hold more than 2^32 blocks (${formatBytes(2 ** 32 * g.blockSize)}), so ${formatBytes(newSize)} cannot be reached; resize2fs would refuse after the image was grown`,
        fix: `grow to at most ${formatBytes(most)} (${most}); for more, make a new volume (tdx-wizard create makes 64bit ext4) and copy the data over`,
      },
    };
  }
  const oldGroups = ceil(g.blockCount - g.firstDataBlock, perGroup);
  const newGroups = ceil(newBlocks - g.firstDataBlock, perGroup);
  const descPerBlock = g.blockSize / g.descSize;
  const oldDescBlocks = ceil(oldGroups, descPerBlock);
  const newDescBlocks = ceil(newGroups, descPerBlock);
  if (!g.metaBg && newDescBlocks > oldDescBlocks + g.reservedGdtBlocks) {
    const mostGroups = (oldDescBlocks + g.reservedGdtBlocks) * descPerBlock;
    const most = Math.floor((Math.min(mostGroups * perGroup + g.firstDataBlock, g.is64bit ? Infinity : maxBlocks32)) / perGroup) * groupBytes;
    return {
      metadataBytes: 0,
      refusal: {
        message: `its ext4 has room for ${oldDescBlocks + g.reservedGdtBlocks} group descriptor blocks (${g.reservedGdtBlocks} reserved for growing), enough for ${formatBytes(most)}; ${formatBytes(newSize)} needs ${newDescBlocks}, and resize2fs would have to move data in every backup group to make room, which fails half-way on a full or flex_bg filesystem ("Could not allocate block")`,
        fix: `grow to at most ${formatBytes(most)} (${most}); for more, make a new volume of the size wanted (tdx-wizard create) and copy the data over`,
      },
    };
  }
  const added = Math.max(0, newGroups - oldGroups);
  const zeroesItables = !(lazyItableInit && g.groupChecksums);
  const itable = zeroesItables ? g.inodesPerGroup * g.inodeSize : 0;
  // Bitmaps: packed per flex group, one cluster each at least.
  const flexGroups = ceil(added, g.groupsPerFlex);
  const bitmaps = flexGroups * Math.max(clusterSize, ceil(2 * g.groupsPerFlex * g.blockSize, clusterSize) * clusterSize);
  const itables = added * itable;
  // Every backup group (old and new) gets the whole descriptor table again, plus a superblock.
  const backups = backupGroupsBelow(newGroups, g.sparseSuper);
  const descriptors = backups * Math.max(clusterSize, ceil((newDescBlocks + 1) * g.blockSize, clusterSize) * clusterSize);
  // qcow2 L2 tables: one cluster maps clusterSize/8 clusters; at most one per flex group touched.
  const l2Span = (clusterSize / 8) * clusterSize;
  const l2 = Math.min(ceil(newSize, l2Span), flexGroups + backups) * clusterSize;
  const total = bitmaps + itables + descriptors + l2;
  // Refcount blocks and slack: 1/64 more, and 16 MiB.
  return {metadataBytes: Math.ceil(total * (1 + 1 / 64)) + 16 * 2 ** 20};
}

/**
 * Throws a UsageError (exit 2) naming the reason and the fix when growing `path` to `newSize`
 * cannot be reached: the filesystem's limits, or the host's free space for the metadata.
 */
export async function refuseUnreachableGrow(path: string, format: 'qcow2' | 'raw', newSize: number): Promise<void> {
  const {geometry, clusterSize} = await readExtGeometry(path, format);
  if (!geometry) throw new UsageError(`${path}: its ext superblock could not be read, so the grow cannot be planned`, 'check it with tdx-wizard inspect');
  const plan = planGrow(geometry, newSize, clusterSize);
  if (plan.refusal) throw new UsageError(`${path} cannot be grown to ${formatBytes(newSize)}: ${plan.refusal.message}. Nothing was changed`, plan.refusal.fix);
  const dir = dirname(path);
  const free = await freeBytes(dir);
  if (free !== undefined && free < plan.metadataBytes) {
    throw new UsageError(
      `${dir} has ${formatBytes(free)} free, but growing ${path} to ${formatBytes(newSize)} writes about ${formatBytes(plan.metadataBytes)} of filesystem metadata into the image (group descriptors and their backups, bitmaps, inode tables when they are zeroed); running out half-way would damage the filesystem. Nothing was changed`,
      `free at least ${formatBytes(plan.metadataBytes - free)} on the host filesystem of ${dir}, or grow by less`,
    );
  }
}
