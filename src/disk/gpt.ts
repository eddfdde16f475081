// The GUID partition table of a disk image, read from its guest view (src/disk/qcow2.ts): the
// primary header at LBA 1 (512- or 4096-byte sectors), its CRC32 and its entries' CRC32 checked,
// each used entry's type, name and extent. No root, no loop device, no partx.
import type {VolumeView} from './probe.js';

export interface GptPartition {
  /** 1-based, as the kernel numbers it (vda1, vda2…). */
  index: number;
  typeGuid: string;
  /** "EFI System", "Linux filesystem"… or the GUID. */
  typeName: string;
  name: string;
  offset: number;
  size: number;
}

export interface Gpt {
  sectorSize: number;
  diskGuid: string;
  partitions: GptPartition[];
}

const TYPES: Record<string, string> = {
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI System',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux filesystem',
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': 'Linux root (x86-64)',
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'Linux extended boot',
  'CA7D7CCB-63ED-4C53-861C-1742536059CC': 'Linux LUKS',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
};

export class GptError extends Error {}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A GUID as written on disk: the first three fields little-endian. */
export function formatGuid(b: Buffer): string {
  const hex = (buf: Buffer) => buf.toString('hex');
  const le = (at: number, len: number) => hex(Buffer.from(b.subarray(at, at + len)).reverse());
  return `${le(0, 4)}-${le(4, 2)}-${le(6, 2)}-${hex(b.subarray(8, 10))}-${hex(b.subarray(10, 16))}`.toUpperCase();
}

const u64 = (b: Buffer, at: number) => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;
const MAX_ENTRIES_BYTES = 1024 * 1024;

/** The partition table, or undefined when the disk has no GPT (no "EFI PART" at LBA 1). Throws GptError when it is damaged. */
export async function readGpt(view: VolumeView): Promise<Gpt | undefined> {
  for (const sectorSize of [512, 4096]) {
    if (view.virtualSize < sectorSize * 2) continue;
    const header = await view.read(sectorSize, 512);
    if (header.toString('latin1', 0, 8) !== 'EFI PART') continue;
    const headerSize = header.readUInt32LE(12);
    if (headerSize < 92 || headerSize > 512) throw new GptError(`the GPT header size ${headerSize} is impossible`);
    const copy = Buffer.from(header.subarray(0, headerSize));
    copy.writeUInt32LE(0, 16);
    if (crc32(copy) !== header.readUInt32LE(16)) throw new GptError('the GPT header checksum does not match (a damaged partition table)');
    const entriesLba = u64(header, 72);
    const count = header.readUInt32LE(80);
    const entrySize = header.readUInt32LE(84);
    if (entrySize < 128 || entrySize % 8 || count * entrySize > MAX_ENTRIES_BYTES) throw new GptError(`GPT entries of ${count} x ${entrySize} bytes are impossible`);
    const entries = await view.read(entriesLba * sectorSize, count * entrySize);
    if (crc32(entries) !== header.readUInt32LE(88)) throw new GptError('the GPT entries checksum does not match (a damaged partition table)');
    const partitions: GptPartition[] = [];
    for (let i = 0; i < count; i++) {
      const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
      if (e.subarray(0, 16).every((b) => b === 0)) continue;
      const typeGuid = formatGuid(e.subarray(0, 16));
      const first = u64(e, 32);
      const last = u64(e, 40);
      if (last < first) throw new GptError(`GPT partition ${i + 1} ends before it starts`);
      const raw = e.toString('utf16le', 56, 56 + 72);
      const nul = raw.indexOf('\0');
      partitions.push({index: i + 1, typeGuid, typeName: TYPES[typeGuid] ?? typeGuid, name: nul < 0 ? raw : raw.slice(0, nul), offset: first * sectorSize, size: (last - first + 1) * sectorSize});
    }
    return {sectorSize, diskGuid: formatGuid(header.subarray(56, 72)), partitions};
  }
  return undefined;
}

/** A partition (or any extent) of a view as a view of its own. */
export function sliceView(view: VolumeView, offset: number, size: number): VolumeView {
  const end = Math.min(offset + size, view.virtualSize);
  const length = Math.max(0, end - offset);
  return {
    virtualSize: length,
    async read(at: number, count: number): Promise<Buffer> {
      if (at >= length) return Buffer.alloc(count);
      const inside = Math.min(count, length - at);
      const buf = await view.read(offset + at, inside);
      return inside === count ? buf : Buffer.concat([buf, Buffer.alloc(count - inside)]);
    },
  };
}
