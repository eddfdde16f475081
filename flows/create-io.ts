// What the create flow's steps share: file operations done in-process that fail as a tool would,
// a full disk said in plain words, and the volume's flush to disk.
import {constants} from 'node:fs';
import {open, type FileHandle} from 'node:fs/promises';
import type {StepEnv} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import type {CreateJob} from './create.js';

/** The file that becomes the volume: the qcow2, or the raw file itself. */
export function volumeFile(job: CreateJob): string {
  return job.format === 'raw' ? job.rawPath! : job.qcowPath!;
}

/** Opens `path`, runs `work` on it, and closes it whatever happened. */
export async function withFile<T>(path: string, flags: number, work: (handle: FileHandle) => Promise<T>, mode?: number): Promise<T> {
  const handle = await open(path, flags, mode);
  try {
    return await work(handle);
  } finally {
    await handle.close();
  }
}

/**
 * A file operation done in-process fails as a tool would: its error's words as the output, so that
 * the causes recognised in a tool's output (a full disk, a file too large) are recognised in it too.
 */
export async function likeATool<T>(what: string, step: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const words = error instanceof Error ? error.message : String(error);
    throw new StepError(`${what}: ${words}`, step, [words]);
  }
}

/** A tool that hit a full disk says so in its own words; the operator gets the cause and the fix. */
export async function spaceAware<T>(job: CreateJob, doing: string, work: () => Promise<T>, dir = job.target.dir): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StepError && error.output.some((l) => /No space left on device|ENOSPC|Disk quota exceeded/i.test(l))) {
      const fix = dir === job.target.dir ? 'or create the volume in another directory' : 'or run with TDX_WIZARD_SCRATCH_DIR= (empty: the raw file is made beside the volume)';
      throw new StepError(`the file system of ${dir} is full: ${doing} ran out of space`, error.step, error.output, `free some space there (df -h ${dir}) ${fix}`);
    }
    throw error;
  }
}

/**
 * On disk before it is put in place, as qemu-nbd's disconnect flushes it in the seed procedure:
 * qemu-img convert (and a hole punched in a raw file) leaves it in the page cache, where a power cut loses it after create has said it
 * is ready. A file system that allocates at write-back can report a full disk only here.
 */
export function writeToDisk(job: CreateJob, env: StepEnv): Promise<unknown> {
  const volume = volumeFile(job);
  return spaceAware(job, 'writing the volume to disk', () =>
    env.runner.act('Write the volume to disk', ['sync', '--data', '--', volume], () =>
      likeATool(`could not write ${volume} to disk`, 'verify', async () => {
        // An error the early flushes saw is not reported again to a file opened after it (Linux
        // reports a write-back error once): it is this flush's error.
        const early = await job.earlyFlush;
        if (early) throw early;
        await withFile(volume, constants.O_RDONLY, (file) => file.datasync());
      }),
    ),
  );
}

/**
 * Flushes `path` to disk again and again while `writing` runs (qemu-img convert writing it), so
 * that the disk writes the volume while convert is still copying: the flush after convert then
 * waits for what is left (62 MiB for 5000G: 45 ms after convert alone, 6-11 with this; total
 * 141-176 -> 114-118 ms). The file is opened once it exists. Resolves when `writing` has settled
 * and no flush is under way, with the first flush's error if one failed (no flush after it).
 */
export async function flushWhileWriting(path: string, writing: Promise<unknown>, every = 10, datasync = (file: FileHandle) => file.datasync()): Promise<Error | undefined> {
  let done = false;
  const settled = writing.then(
    () => (done = true),
    () => (done = true),
  );
  let file: FileHandle | undefined;
  try {
    while (!done) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, every)))]);
      clearTimeout(timer);
      if (done) break;
      try {
        file ??= await open(path, constants.O_RDONLY);
      } catch {
        continue; // not made yet
      }
      try {
        await datasync(file);
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    }
    return undefined;
  } finally {
    // Never a rejection (nobody may wait for this once convert failed); an error here is one the
    // final flush must report, as above.
    await file?.close().catch(() => undefined);
  }
}
