// Create a data volume (cache, storage, containerd): a qcow2 or raw file whose ext4 or XFS
// filesystem carries the label the guest looks for. Two methods:
//   offline (default): mkfs on a sparse raw file (ext4 with the metadata packed at the start).
//     For a qcow2, `qemu-img convert` then copies only the written blocks: no root, no NBD, and
//     about 20 times faster than the seed procedure, with a file about 6 times smaller. A raw
//     volume is that sparse file itself, made beside the target and formatted in place.
//   nbd (qcow2 and ext4 only): the seed document's procedure (qemu-img create, qemu-nbd
//     --connect, mkfs.ext4, blkid, disconnect), done safely through the NBD layer.
// Whatever happens, the half-made file is removed: never a leftover that makes the next run fail.
import {closeSync, constants, fstatSync, openSync} from 'node:fs';
import {chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, unlink} from 'node:fs/promises';
import {basename, dirname, join, resolve} from 'node:path';
import type {Flow, FlowStep, StepEnv} from '../src/flow-runner.js';
import {Cancelled, StepError, UsageError} from '../src/errors.js';
import {sizeArg} from '../src/volume/size.js';
import type {Target} from '../src/volume/target.js';
import {describeExisting} from '../src/volume/target.js';
import {checkCreatedVolume} from '../src/volume/check-created.js';
import {pidAlive, reclaimScratch, SCRATCH_PREFIX, scratchBase} from '../src/volume/scratch.js';
import {nbdFormatSteps} from './create-nbd.js';
import {flushWhileWriting, likeATool, spaceAware, volumeFile, withFile, writeToDisk} from './create-io.js';
import {mkfs, sparseLog} from './create-mkfs.js';

export interface CreateJob {
  target: Target;
  sizeBytes: number;
  label: string;
  /** The container: qcow2, or a raw file (the launchers of E5 on take those by their name). */
  format: 'qcow2' | 'raw';
  fs: 'ext4' | 'xfs';
  method: 'offline' | 'nbd';
  /** Consent to create missing parent directories. */
  createParent: boolean;
  /** Filled in by the steps. */
  workDir?: string;
  /** The private directory of the raw file when it is made in memory (src/volume/scratch.ts). */
  scratchDir?: string;
  rawPath?: string;
  qcowPath?: string;
  /** The volume's flush to disk, started as soon as it is written (verify waits for it). */
  flushed?: Promise<unknown>;
  /** The flushes done while convert wrote the volume (create-io.ts), and the first one's error. */
  earlyFlush?: Promise<Error | undefined>;
  /**
   * The empty file that reserves the name, kept open until the volume replaces it or it is
   * removed: while it is open its inode cannot be freed, so no file put at the name later can
   * have the same device and inode numbers and pass for it.
   */
  placeholder?: {dev: number; ino: number; fd: number};
  /** The NBD device while attached (nbd method). */
  device?: string;
  detach?: () => Promise<void>;
}

/** The private work directory of the run with process id `pid`, beside the target. */
export function workDirName(name: string, pid: number): string {
  return `.${name}.tdx-wizard-${pid}`;
}

/**
 * What a create that was killed hard (SIGKILL, OOM, power loss) leaves beside the target: its work
 * directory `.NAME.tdx-wizard-PID` and the empty file that reserved the name. Its cleanup could not
 * run, so the next create of the same target does it: only for a process that is gone, only its own
 * work directory, and the target only while it is still the empty reservation. A live owner means
 * another wizard is creating the same file right now: refused, naming it.
 * Returns what was done, one sentence each, for the operator.
 */
export async function reclaimCreateLeftovers(runner: StepEnv['runner'], input: string): Promise<string[]> {
  if (!input || /[\x00-\x1f\x7f]/.test(input) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(input) || input.endsWith('/')) return [];
  const path = resolve(input);
  const dir = dirname(path);
  const name = basename(path);
  const prefix = workDirName(name, 0).slice(0, -1);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const notes: string[] = await reclaimScratch(runner);
  for (const entry of entries) {
    if (!entry.startsWith(prefix) || !/^\d+$/.test(entry.slice(prefix.length))) continue;
    const pid = Number(entry.slice(prefix.length));
    const workDir = join(dir, entry);
    if (pid === process.pid) continue;
    if (pidAlive(pid)) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
      throw new UsageError(
        `${path} is being created right now by another process (pid ${pid}${argv ? `: ${argv}` : ''}; its work directory is ${workDir})`,
        `wait for it to finish, or stop it with kill -TERM ${pid} (it removes its half-made file), then run create again`,
      );
    }
    const st = await lstat(path).catch(() => undefined);
    const placeholder = Boolean(st?.isFile() && st.size === 0);
    await runner.act(`Remove the work directory left by pid ${pid}`, ['rm', '-rf', '--', workDir], () => rm(workDir, {recursive: true, force: true}));
    if (placeholder) await runner.act(`Remove the empty ${name} reserved by pid ${pid}`, ['rm', '-f', '--', path], () => rm(path, {force: true}));
    notes.push(
      `an earlier create of ${path} (pid ${pid}) was killed before it could clean up: ${runner.dryRun ? 'would remove' : 'removed'} its work directory ${workDir}${placeholder ? ` and the empty file that reserved ${name}` : ` (${name} itself was ${st ? 'already complete, and was left alone' : 'not there'})`}`,
    );
  }
  return notes;
}

export const reserve: FlowStep<CreateJob> = {
  id: 'reserve',
  title: 'Reserve the file name',
  changesDisk: true,
  async run(job, env) {
    const {target} = job;
    if (target.parentMissing) {
      await env.runner.act(`Create the directory ${target.dir}`, ['mkdir', '-p', '-m', '755', '--', target.dir], () => mkdir(target.dir, {recursive: true, mode: 0o755}));
    }
    // O_EXCL|O_NOFOLLOW: refuses an existing file, a directory, a device or a symlink (even a
    // dangling one) in one atomic call; no check-then-create race.
    await env.runner.act(`Reserve ${target.path}`, ['sh', '-c', `set -C; : > "$1"; chmod 600 "$1"`, 'reserve', target.path], async () => {
      // Synchronous on purpose: the file and the undo's knowledge of it come into being in one turn
      // of the event loop, so a stop (handled between turns) can never find the one without the
      // other (with an asynchronous open, a stop while the open ran left an empty file behind).
      // A stop already under way has run (or is running) the undo: reserve nothing it cannot see.
      if (env.signal?.aborted) throw new Cancelled(`${target.path}: cancelled before the name was reserved`);
      try {
        const fd = openSync(target.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        const st = fstatSync(fd);
        job.placeholder = {dev: st.dev, ino: st.ino, fd};
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ELOOP') {
          const st = await lstat(target.path).catch(() => undefined);
          throw new UsageError(`${target.path} ${st ? describeExisting(st) : 'appeared while checking'}`, 'choose a new file name');
        }
        if (code === 'EROFS') throw new UsageError(`cannot create ${target.path}: ${target.dir} is on a read-only file system`, 'choose a directory on a writable file system (or remount it read-write)');
        if (code === 'EACCES' || code === 'EPERM') {
          throw new UsageError(`cannot create ${target.path}: permission denied`, 'run as root (sudo) or choose a directory you can write');
        }
        throw error;
      }
    });
    job.workDir = join(target.dir, workDirName(target.name, process.pid));
    await env.runner.act('Make a private work directory', ['mkdir', '-m', '700', '--', job.workDir], () => mkdir(job.workDir!, {mode: 0o700}));
    job.rawPath = join(job.workDir, job.format === 'raw' ? 'volume.raw' : 'filesystem.raw');
    job.qcowPath = join(job.workDir, 'volume.qcow2');
  },
  async undo(job, env) {
    if (job.workDir) await env.runner.act('Remove the work directory', ['rm', '-rf', '--', job.workDir], () => rm(job.workDir!, {recursive: true, force: true}));
    if (job.placeholder) {
      // Only ever remove the file this run created (same inode), never one put there since.
      if (await isPlaceholder(job)) {
        await env.runner.act(`Remove the half-made ${job.target.name}`, ['rm', '-f', '--', job.target.path], () => rm(job.target.path, {force: true}));
      }
      await releasePlaceholder(job);
    }
  },
};

/** Is the file at the target still this run's reservation: same inode, still empty? */
async function isPlaceholder(job: CreateJob): Promise<boolean> {
  const st = await lstat(job.target.path).catch(() => undefined);
  return Boolean(st && job.placeholder && st.isFile() && st.dev === job.placeholder.dev && st.ino === job.placeholder.ino && st.size === 0);
}

async function releasePlaceholder(job: CreateJob): Promise<void> {
  const fd = job.placeholder?.fd;
  job.placeholder = undefined;
  if (fd !== undefined) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}




const sparseRaw: FlowStep<CreateJob> = {
  id: 'raw',
  title: 'Make a sparse raw file',
  changesDisk: true,
  async run(job, env) {
    // A raw volume is this file itself: made in the work directory, on the target's file system,
    // where the hard link can put it in place. Sparse, never preallocated: upstream's
    // create-cache.sh reserves the whole size at once (qemu-img -o preallocation=falloc: 5000G of
    // the host's disk before the guest writes a byte, and when falloc fails, preallocation=full
    // writes 5000G of zeros, for hours). The guest's writes allocate as they come, as a qcow2's do.
    const base = job.format === 'qcow2' ? await scratchBase(job.sizeBytes, job.fs) : undefined;
    if (base) {
      // mkdtemp: 0700, a name nobody can guess or take first in a world-writable /dev/shm.
      const template = join(base, `${SCRATCH_PREFIX}${process.pid}-`);
      await env.runner.act(`Make a private directory in ${base} for the raw file (in memory: it is only a step)`, ['mktemp', '-d', `${template}XXXXXX`], async () => {
        job.scratchDir = await mkdtemp(template);
      });
      job.rawPath = join(job.scratchDir ?? `${template}XXXXXX`, 'filesystem.raw');
    }
    // In-process, as qemu-img create -f raw does it (a new file, truncated to the size): no spawn.
    const raw = job.rawPath!;
    const dir = job.scratchDir ?? job.target.dir;
    const makeRaw = () =>
      env.runner.act(`Make a sparse ${sizeArg(job.sizeBytes)} raw file`, ['truncate', '-s', String(job.sizeBytes), '--', raw], () =>
        likeATool(`could not make ${raw}`, 'raw', () => withFile(raw, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, (file) => file.truncate(job.sizeBytes), 0o600)),
      );
    try {
      await spaceAware(job, 'making the raw file', makeRaw, dir);
    } catch (error) {
      if (error instanceof StepError && error.output.some((l) => /too large|EFBIG/i.test(l))) {
        throw new StepError(`${dir} cannot hold a sparse file of ${sizeArg(job.sizeBytes)} (its file system limits file size, or ulimit -f does)`, 'raw', error.output, `create the volume in a directory on XFS or ext4 with 4 KiB blocks${job.format === 'qcow2' && job.fs === 'ext4' ? ', or use --method nbd' : ''}`);
      }
      throw error;
    }
  },
  async undo(job, env) {
    await removeScratch(job, env);
  },
};

export async function removeScratch(job: CreateJob, env: StepEnv): Promise<void> {
  const dir = job.scratchDir;
  if (!dir) return;
  await env.runner.act(`Remove ${dir}`, ['rm', '-rf', '--', dir], () => rm(dir, {recursive: true, force: true}));
  job.scratchDir = undefined;
}

export const convert: FlowStep<CreateJob> = {
  id: 'convert',
  title: 'Convert to qcow2',
  changesDisk: true,
  async run(job, env) {
    // -m 1: one coroutine instead of 8. Both files are in the page cache (the raw one in /dev/shm
    // or just written, the qcow2 written without flushes: convert's default cache is "unsafe", we
    // flush it, while it writes and after), so parallel requests only add qemu's scheduling: 94 ms against 121 for
    // 5000G here (`node bench/run.mjs create`).
    const converting = spaceAware(job, 'qemu-img convert', () =>
      env.runner.run({cmd: 'qemu-img', args: ['convert', '-p', '-m', '1', '-f', 'raw', '-O', 'qcow2', '--', job.rawPath!, job.qcowPath!], title: 'Convert to qcow2 (only the written blocks)', progress: 'qemu-img'}),
    );
    if (!env.runner.dryRun) job.earlyFlush = flushWhileWriting(job.qcowPath!, converting);
    await converting;
    // What the disk has not written yet (40-60 ms for 62 MiB without the flushes above): it starts
    // now, beside the raw file's removal and the check, which is done first and waits for it.
    job.flushed = writeToDisk(job, env);
    job.flushed.catch(() => undefined); // verify reports it; never an unhandled rejection meanwhile
    if (job.scratchDir) await removeScratch(job, env);
    else await env.runner.act('Remove the raw file', ['rm', '-f', '--', job.rawPath!], () => rm(job.rawPath!, {force: true}));
  },
};


export const verify: FlowStep<CreateJob> = {
  id: 'verify',
  title: 'Verify the volume',
  async run(job, env) {
    const volume = volumeFile(job);
    await env.runner.act('Restrict the volume to its owner', ['chmod', '600', '--', volume], () => chmod(volume, 0o600));
  },
  async verify(job, env) {
    // The flush waits on the disk while the check reads the volume (from the page cache, the same
    // bytes): both are done, or the first failure thrown, before anything else happens. The
    // offline method started the flush when convert finished; a raw volume's and the NBD method's start here.
    const want = {sizeBytes: job.sizeBytes, label: job.label, format: job.format, fs: job.fs};
    const [check, flushed] = await Promise.allSettled([checkCreatedVolume(env.runner, volumeFile(job), want), job.flushed ?? writeToDisk(job, env)]);
    if (check.status === 'rejected') throw check.reason;
    if (flushed.status === 'rejected') throw flushed.reason;
    return check.value;
  },
};

export const publish: FlowStep<CreateJob> = {
  id: 'publish',
  title: 'Put the volume in place',
  changesDisk: true,
  async run(job, env) {
    // A hard link onto the freed name, not a rename over the placeholder: on ext4 a rename that
    // replaces a file costs 20-40 ms here right after qemu-img's writes (auto_da_alloc), and link
    // never replaces anything: a file someone put there in between is refused, not overwritten.
    const {target} = job;
    const volume = volumeFile(job);
    const leftAlone = (what: string) => new StepError(`${target.path} was ${what}; it was left alone`, 'publish', [], 'check who else writes to that directory, then run create again');
    const takenMeanwhile = () => leftAlone('created by something else while the volume was being put in place');
    const argv = ['sh', '-c', 'rm -f -- "$2" && ln -- "$1" "$2" && rm -f -- "$1"', 'publish', volume, target.path];
    await env.runner.act(`Move the volume to ${target.path}`, argv, async () => {
      if (!(await isPlaceholder(job))) throw leftAlone('replaced by something else while the volume was being made');
      await unlink(target.path);
      await releasePlaceholder(job); // the name is free: nothing at it is ours to remove any more
      try {
        await link(volume, target.path);
        await unlink(volume);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw takenMeanwhile();
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
        // A file system without hard links: rename onto the name, which was free a moment ago.
        if (await lstat(target.path).then(() => true, () => false)) throw takenMeanwhile();
        await rename(volume, target.path);
      }
    });
    await env.runner.act('Remove the work directory', ['rmdir', '--', job.workDir!], () => rm(job.workDir!, {recursive: true, force: true}));
    job.workDir = undefined;
    // The new name on disk too: after a power cut the directory shows the volume, not the reservation.
    await env.runner.act(`Write ${target.dir} to disk`, ['sync', '--', target.dir], () => withFile(target.dir, constants.O_RDONLY | constants.O_DIRECTORY, (file) => file.sync()));
  },
};

export function createFlow(job: CreateJob): Flow<CreateJob> {
  const made = job.format === 'raw' ? (job.fs === 'xfs' ? [mkfs, sparseLog] : [mkfs]) : [mkfs, convert];
  const steps = job.method === 'offline' ? [reserve, sparseRaw, ...made, verify, publish] : [reserve, ...nbdFormatSteps, verify, publish];
  return {id: 'create', title: `Create ${job.target.name} (${sizeArg(job.sizeBytes)}, ${job.format} ${job.fs}, ${job.method})`, steps};
}

export type {StepEnv};
