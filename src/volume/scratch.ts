// Where `create --method offline` makes its throwaway raw file. mkfs.ext4 writes the filesystem's
// metadata into a sparse raw file (62 MiB for 5000G), fsyncs it, and `qemu-img convert` copies
// the written blocks into the qcow2; then the raw file is deleted. On the target's disk that is
// 62 MiB written, flushed and discarded for nothing: in memory (/dev/shm, tmpfs) mkfs takes 0.1 s
// instead of 0.2-0.3 s, and the operator's disk only gets the qcow2.
//
// /dev/shm is used when it is a tmpfs with room to spare and the machine has the memory;
// otherwise the raw file stays in the work directory beside the target, as before. Never for XFS:
// mkfs.xfs zeroes its log (2 GiB for 5000G) with fallocate(ZERO_RANGE), which tmpfs does not
// have, so it writes the zeros instead: 6 s and 2 GiB of memory, where a disk file takes 15 ms.
// TDX_WIZARD_SCRATCH_DIR overrides the choice: a directory, or empty for the work directory.
import {readFileSync} from 'node:fs';
import {statfs} from 'node:fs/promises';
import type {Fs} from '../era/eras.js';
import {offlineScratchBytes} from './space.js';

const TMPFS_MAGIC = 0x01021994;
const SHM = '/dev/shm';
/** The raw file's prefix in a scratch directory: `tdx-wizard-raw-PID-XXXXXX`. */
export const SCRATCH_PREFIX = 'tdx-wizard-raw-';

function memAvailable(): number {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The scratch directories to look in for leftovers: /dev/shm and the override. */
export function scratchBases(): string[] {
  const override = process.env.TDX_WIZARD_SCRATCH_DIR;
  return [...new Set([SHM, ...(override ? [override] : [])])];
}

/** The directory to make the raw file's private directory in, or undefined for the work directory. */
export async function scratchBase(sizeBytes: number, fs: Fs = 'ext4'): Promise<string | undefined> {
  const override = process.env.TDX_WIZARD_SCRATCH_DIR;
  if (override !== undefined) return override || undefined;
  if (fs === 'xfs') return undefined;
  const need = offlineScratchBytes(sizeBytes); // the same room the work directory is asked for
  try {
    const st = await statfs(SHM);
    if (st.type !== TMPFS_MAGIC || st.bavail * st.bsize < need) return undefined;
  } catch {
    return undefined;
  }
  // tmpfs pages are memory: leave most of it to the host (and its VM).
  return need * 4 <= memAvailable() ? SHM : undefined;
}
