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
import {lstatSync, readFileSync, statSync} from 'node:fs';
import {readdir, rm, statfs} from 'node:fs/promises';
import {join} from 'node:path';
import type {Fs} from '../era/eras.js';
import {UsageError} from '../errors.js';
import type {Runner} from '../runner/runner.js';
import {offlineScratchBytes} from './space.js';

const TMPFS_MAGIC = 0x01021994;
const SHM = '/dev/shm';
/** The raw file's prefix in a scratch directory: `tdx-wizard-raw-PID-XXXXXX`. */
export const SCRATCH_PREFIX = 'tdx-wizard-raw-';
/** A config volume's private directory (its files, the seed among them, and its raw file): `tdx-wizard-config-PID-XXXXXX`. */
export const CONFIG_SCRATCH_PREFIX = 'tdx-wizard-config-';

/** What a killed run's private directory held, by prefix, for the note when it is removed. */
const LEFT_BY: ReadonlyArray<{prefix: string; run: string; held: string}> = [
  {prefix: SCRATCH_PREFIX, run: 'a create', held: 'its raw file'},
  {prefix: CONFIG_SCRATCH_PREFIX, run: 'a config-volume build', held: 'its private directory (the config files, the miner seed among them, and the raw filesystem)'},
];

/** A directory (not a link to one) this process's user owns. */
function ownDirectory(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === process.getuid?.();
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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

/** TDX_WIZARD_SCRATCH_DIR, when set, must be a directory: checked before anything is made. */
export function checkScratchOverride(env: NodeJS.ProcessEnv = process.env): void {
  const dir = env.TDX_WIZARD_SCRATCH_DIR;
  if (!dir) return;
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`TDX_WIZARD_SCRATCH_DIR is ${dir}, which does not exist`, 'point it at an existing directory, set it empty to work beside the volume, or unset it');
  }
  if (!isDir) throw new UsageError(`TDX_WIZARD_SCRATCH_DIR is ${dir}, which is not a directory`, 'point it at a directory, or unset it');
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

/**
 * The private directories of runs that were killed (any target): in /dev/shm they hold memory until
 * the next boot, and a config volume's hold the miner seed. Only a process that is gone; one
 * sentence each for the operator.
 */
export async function reclaimScratch(runner: Runner): Promise<string[]> {
  const notes: string[] = [];
  for (const base of scratchBases()) {
    for (const entry of await readdir(base).catch(() => [] as string[])) {
      const kind = LEFT_BY.find((k) => entry.startsWith(k.prefix));
      const pid = Number(kind && new RegExp(`^${kind.prefix}(\\d+)-`).exec(entry)?.[1]);
      if (!kind || !pid || pid === process.pid || pidAlive(pid)) continue;
      const dir = join(base, entry);
      // Per user: only this user's own directories (root's cleanup too never removes another user's).
      if (!ownDirectory(dir)) continue;
      await runner.act(`Remove ${kind.held.replace(/^its /, 'the ').replace(/ \(.*/, '')} left in ${base} by pid ${pid}`, ['rm', '-rf', '--', dir], () => rm(dir, {recursive: true, force: true}));
      notes.push(`${kind.run} (pid ${pid}) was killed before it could clean up: ${runner.dryRun ? 'would remove' : 'removed'} ${kind.held} in ${dir}`);
    }
  }
  return notes;
}
