// Reads directories and small files of an ext4 filesystem straight from a volume view (the qcow2
// reader in src/disk/qcow2.ts): no root, no attach, no process, nothing written, and no copy of a
// secret file anywhere but this process's memory. Enough for a config volume (the root directory,
// its entries' inodes: mode, owner, size; the contents of regular files) and for a few paths in a
// guest image's root (`lookup('/etc/systemd/system/var-snap.mount')`: one directory read a level).
// Files mapped by extents (every mke2fs since 1.43) or by direct blocks; inline data is refused.
import type {VolumeView} from '../disk/probe.js';

export interface Ext4Entry {
  name: string;
  inode: number;
  /** File type and permission bits, as st_mode. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  isDirectory: boolean;
  isFile: boolean;
}

export interface Ext4Fs {
  /** The root directory's own inode. */
  root: Ext4Entry;
  /** A directory's entries (`.` and `..` left out). */
  list(dir: Ext4Entry): Promise<Ext4Entry[]>;
  /** The entry at an absolute path (symbolic links are not followed), or undefined. */
  lookup(path: string): Promise<Ext4Entry | undefined>;
  /** A regular file's bytes (at most 1 MiB). */
  read(entry: Ext4Entry): Promise<Buffer>;
}

export interface Ext4Root {
  entries: Ext4Entry[];
  /** The root directory's own inode. */
  root: Ext4Entry;
  /** A regular file's bytes (at most 1 MiB: a config volume's files are a few hundred bytes). */
  read(entry: Ext4Entry): Promise<Buffer>;
}

const ROOT_INODE = 2;
const EXTENTS_FL = 0x80000;
const INLINE_DATA_FL = 0x10000000;
const EXTENT_MAGIC = 0xf30a;
const INCOMPAT_64BIT = 0x80;
const MAX_FILE = 1024 * 1024;
const S_IFMT = 0o170000;

class Ext4Error extends Error {}

export async function readExt4Root(view: VolumeView): Promise<Ext4Root> {
  const fs = await readExt4(view);
  return {entries: await fs.list(fs.root), root: fs.root, read: (entry) => fs.read(entry)};
}

export async function readExt4(view: VolumeView): Promise<Ext4Fs> {
  const sb = await view.read(1024, 1024);
  if (sb.readUInt16LE(0x38) !== 0xef53) throw new Ext4Error('no ext4 superblock');
  const blockSize = 1024 << sb.readUInt32LE(0x18);
  const inodesPerGroup = sb.readUInt32LE(0x28);
  const firstDataBlock = sb.readUInt32LE(0x14);
  const inodeSize = sb.readUInt32LE(0x4c) >= 1 ? sb.readUInt16LE(0x58) : 128;
  const is64 = (sb.readUInt32LE(0x60) & INCOMPAT_64BIT) !== 0;
  const descSize = is64 ? Math.max(32, sb.readUInt16LE(0xfe)) : 32;
  if (blockSize > 65536 || !inodesPerGroup) throw new Ext4Error('the ext4 superblock is damaged');
  const block = (n: number, count = 1) => view.read(n * blockSize, count * blockSize);

  const inode = async (number: number) => {
    const group = Math.floor((number - 1) / inodesPerGroup);
    const desc = (await view.read((firstDataBlock + 1) * blockSize + group * descSize, descSize));
    const table = desc.readUInt32LE(0x08) + (descSize >= 64 ? desc.readUInt32LE(0x28) * 2 ** 32 : 0);
    return view.read(table * blockSize + ((number - 1) % inodesPerGroup) * inodeSize, Math.min(inodeSize, 256));
  };
  const describe = (name: string, number: number, raw: Buffer): Ext4Entry => {
    const mode = raw.readUInt16LE(0x00);
    return {
      name,
      inode: number,
      mode,
      uid: raw.readUInt16LE(0x02) + raw.readUInt16LE(0x78) * 65536,
      gid: raw.readUInt16LE(0x18) + raw.readUInt16LE(0x7a) * 65536,
      size: raw.readUInt32LE(0x04) + raw.readUInt32LE(0x6c) * 2 ** 32,
      isDirectory: (mode & S_IFMT) === 0o040000,
      isFile: (mode & S_IFMT) === 0o100000,
    };
  };
  /** The file's bytes, in logical order, cut to its size. */
  const content = async (raw: Buffer, size: number): Promise<Buffer> => {
    if (size > MAX_FILE) throw new Ext4Error(`a file of ${size} bytes is too large for a config volume`);
    const flags = raw.readUInt32LE(0x20);
    if (flags & INLINE_DATA_FL) throw new Ext4Error('inline data is not supported');
    const out = Buffer.alloc(Math.ceil(size / blockSize) * blockSize);
    if (flags & EXTENTS_FL) await extents(raw.subarray(0x28, 0x28 + 60), out, 0);
    else {
      for (let i = 0; i < 12 && i * blockSize < out.length; i++) {
        const n = raw.readUInt32LE(0x28 + i * 4);
        if (n) (await block(n)).copy(out, i * blockSize);
      }
      if (out.length > 12 * blockSize) throw new Ext4Error('indirect blocks are not supported');
    }
    return out.subarray(0, size);
  };
  const extents = async (node: Buffer, out: Buffer, level: number): Promise<void> => {
    if (node.readUInt16LE(0) !== EXTENT_MAGIC || level > 5) throw new Ext4Error('a damaged extent tree');
    const count = node.readUInt16LE(2);
    const depth = node.readUInt16LE(6);
    for (let i = 0; i < count; i++) {
      const e = node.subarray(12 + i * 12, 24 + i * 12);
      if (depth > 0) {
        await extents(await block(e.readUInt32LE(4) + e.readUInt16LE(8) * 2 ** 32), out, level + 1);
        continue;
      }
      const first = e.readUInt32LE(0);
      const rawLength = e.readUInt16LE(4);
      if (rawLength > 32768 || first * blockSize >= out.length) continue; // unwritten: reads as zeros
      const length = Math.min(rawLength, Math.ceil((out.length - first * blockSize) / blockSize));
      (await block(e.readUInt16LE(6) * 2 ** 32 + e.readUInt32LE(8), length)).copy(out, first * blockSize);
    }
  };

  const rootRaw = await inode(ROOT_INODE);
  const root = describe('/', ROOT_INODE, rootRaw);
  if (!root.isDirectory) throw new Ext4Error('the root inode is not a directory');
  /** A directory's names and inode numbers, without reading their inodes. */
  const names = async (entry: Ext4Entry): Promise<Array<{name: string; number: number}>> => {
    if (!entry.isDirectory) throw new Ext4Error(`${entry.name} is not a directory`);
    const dir = await content(entry.inode === ROOT_INODE ? rootRaw : await inode(entry.inode), entry.size);
    const entries: Array<{name: string; number: number}> = [];
    // Every block read linearly: with dir_index the tree's own blocks look like one empty entry.
    for (let at = 0; at + 8 <= dir.length; ) {
      const number = dir.readUInt32LE(at);
      const recLen = dir.readUInt16LE(at + 4);
      const nameLen = dir[at + 6]!;
      if (recLen < 8 || at + recLen > dir.length) throw new Ext4Error('a damaged directory entry');
      const name = dir.toString('utf8', at + 8, at + 8 + nameLen);
      if (number && name !== '.' && name !== '..') entries.push({name, number});
      at += recLen;
    }
    return entries;
  };
  const list = async (entry: Ext4Entry): Promise<Ext4Entry[]> => {
    const out: Ext4Entry[] = [];
    for (const {name, number} of await names(entry)) out.push(describe(name, number, await inode(number)));
    return out;
  };
  return {
    root,
    list,
    lookup: async (path) => {
      let entry: Ext4Entry | undefined = root;
      for (const part of path.split('/').filter(Boolean)) {
        if (!entry?.isDirectory) return undefined;
        const hit: {name: string; number: number} | undefined = (await names(entry)).find((e) => e.name === part);
        entry = hit ? describe(hit.name, hit.number, await inode(hit.number)) : undefined;
      }
      return entry;
    },
    read: async (entry) => {
      if (!entry.isFile) throw new Ext4Error(`${entry.name} is not a regular file`);
      return content(await inode(entry.inode), entry.size);
    },
  };
}
