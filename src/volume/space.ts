// Free space where a volume goes. Both containers are thin: a 5000G qcow2 starts at ~62 MiB, a
// sparse raw file at about as much, and both grow as the guest writes, so a host with less free
// space than the volume can grow to is worth a warning.
import {statfs} from 'node:fs/promises';
import {dirname} from 'node:path';
import type {Fs} from '../era/eras.js';
import {formatBytes, sizeArg} from './size.js';

export async function freeBytes(dir: string): Promise<number | undefined> {
  let current = dir;
  for (;;) {
    try {
      const st = await statfs(current);
      return st.bavail * st.bsize;
    } catch {
      const up = dirname(current);
      if (up === current) return undefined;
      current = up; // the directory will be created: ask the nearest existing ancestor
    }
  }
}

/** Scratch space the offline method needs while it works: journal, bitmaps and inode tables. */
export function offlineScratchBytes(sizeBytes: number, fs: Fs = 'ext4'): number {
  // mkfs.xfs reserves its whole log (2 GiB at most) with fallocate until the log is made sparse,
  // or until qemu-img convert has copied the raw file.
  const journal = fs === 'xfs' ? 2 ** 31 : 2 ** 30;
  return Math.min(sizeBytes, journal + Math.ceil(sizeBytes / 4096) + 64 * 2 ** 20);
}

export interface SpaceCheck {
  warnings: string[];
  error?: {message: string; fix: string};
  free?: number;
}

export async function checkSpace(dir: string, sizeBytes: number, method: 'offline' | 'nbd', fs: Fs = 'ext4'): Promise<SpaceCheck> {
  const free = await freeBytes(dir);
  if (free === undefined) return {warnings: [`could not read the free space of ${dir}`]};
  const warnings: string[] = [];
  const scratch = method === 'offline' ? offlineScratchBytes(sizeBytes, fs) : 16 * 2 ** 20;
  if (free < scratch) {
    return {
      warnings,
      free,
      error: {message: `${dir} has ${formatBytes(free)} free; making the volume needs about ${formatBytes(scratch)} while it works`, fix: 'free some space or choose another directory'},
    };
  }
  if (free < sizeBytes) {
    warnings.push(`${dir} has ${formatBytes(free)} free but the volume can grow to ${sizeArg(sizeBytes)} (${formatBytes(sizeBytes)}); the VM fails with I/O errors when the host disk fills up`);
  }
  return {warnings, free};
}
