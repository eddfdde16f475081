// Grow a volume in the only safe order: the container first (qemu-img resize), then a forced
// filesystem check (e2fsck -f -p), then the filesystem (resize2fs). Shrinking is refused: it
// needs the filesystem shrunk first and a minimum computed, and a mistake loses data.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import {inspectVolume} from '../src/volume/inspect.js';
import {formatBytes} from '../src/volume/size.js';
import {attachStep, detachAndCheckStep, guardNotInUse, type VolumeJob} from './steps.js';

export interface ResizeJob extends VolumeJob {
  newSize: number;
  /** Set once `qemu-img resize` grew the image in this run (its former size is before.virtualSize). */
  grown?: boolean;
  /** Set the moment resize2fs is started: from then on the filesystem may have changed. */
  filesystemTouched?: boolean;
}

/** What each e2fsck exit code means (e2fsck(8)); 0, 1 and 2 let the resize go on. */
export const E2FSCK_EXIT: Record<number, string> = {
  0: 'no errors',
  1: 'errors were found and corrected',
  2: 'errors were corrected; the system should be rebooted (harmless for an unmounted image)',
  4: 'errors were left uncorrected: the filesystem needs a manual e2fsck -f',
  8: 'e2fsck could not run (operational error)',
  12: 'errors left uncorrected and an operational error',
  16: 'usage or syntax error',
  32: 'e2fsck was cancelled',
  128: 'shared library error',
};

const growContainer: FlowStep<ResizeJob> = {
  id: 'grow-container',
  title: 'Grow the image (qemu-img resize)',
  changesDisk: true,
  skip(job) {
    return job.before.virtualSize !== undefined && job.before.virtualSize >= job.newSize ? 'the image already has this size (an earlier resize grew it)' : undefined;
  },
  async run(job, env) {
    await env.runner.run({
      cmd: 'qemu-img',
      args: ['resize', '-f', job.before.format ?? 'qcow2', '--', job.path, String(job.newSize)],
      title: `Grow the image to ${formatBytes(job.newSize)}`,
    });
    job.grown = true;
  },
  // A later step failed or the run was stopped before resize2fs started: the filesystem still ends
  // where the image used to, so shrinking the image back to its exact former size loses nothing.
  async undo(job, env) {
    const former = job.before.virtualSize;
    if (!job.grown || former === undefined || env.runner.dryRun) return;
    const now = await inspectVolume(job.path);
    if (job.filesystemTouched) {
      // resize2fs started: the image stays; say what the filesystem's superblock says now.
      const fs = now.filesystemSize !== undefined ? `its filesystem ends at ${formatBytes(now.filesystemSize)}` : 'its filesystem could not be read';
      env.warn(
        `${job.path} is now ${formatBytes(job.newSize)} (it was ${formatBytes(former)}); resize2fs did not finish: ${fs}${now.fsState ? `, state "${now.fsState}"` : ''}`,
        `run tdx-wizard resize ${job.path} ${job.newSize} again (it checks with e2fsck -f first, then grows the filesystem); if e2fsck reports errors it cannot fix, the volume needs e2fsck -f by hand`,
      );
      return;
    }
    if (now.filesystemSize === undefined || now.filesystemSize > former) {
      env.warn(
        `the image stays at ${formatBytes(job.newSize)}: its filesystem could not be read back as ending within the former ${formatBytes(former)}, so shrinking it back is not safe`,
        `run tdx-wizard resize ${job.path} ${job.newSize} again to grow the filesystem into it`,
      );
      return;
    }
    await env.runner.run({
      cmd: 'qemu-img',
      args: ['resize', '--shrink', '-f', job.before.format ?? 'qcow2', '--', job.path, String(former)],
      title: `Shrink the image back to its former ${formatBytes(former)}`,
      cleanup: true,
    });
    env.info(`shrunk the image back to its former size (${formatBytes(former)}): the filesystem was not changed, the volume is as it was`);
  },
};

const fsck: FlowStep<ResizeJob> = {
  id: 'fsck',
  title: 'Check the filesystem (e2fsck -f -p)',
  changesDisk: true,
  async run(job, env) {
    // Never signalled: an e2fsck stopped half-way can leave the filesystem worse than it found it.
    const r = await env.runner.run({cmd: 'e2fsck', args: ['-f', '-p', job.attached!.path], title: 'Check the filesystem before resizing', check: false, uninterruptible: true});
    if (r.exitCode > 2) {
      throw new StepError(
        `e2fsck stopped with exit code ${r.exitCode}: ${E2FSCK_EXIT[r.exitCode] ?? 'a combination of errors'}; the filesystem was not resized`,
        'fsck',
        r.tail,
        'attach the volume and run e2fsck -f interactively, then run resize again',
      );
    }
    if (r.exitCode > 0) env.info(`e2fsck: ${E2FSCK_EXIT[r.exitCode]}`);
  },
};

const growFilesystem: FlowStep<ResizeJob> = {
  id: 'grow-fs',
  title: 'Grow the filesystem (resize2fs)',
  changesDisk: true,
  async run(job, env) {
    // No size argument: fill the device. Never -f (it disables resize2fs's own safety checks).
    // Never signalled: a resize2fs stopped half-way leaves the filesystem damaged ("Resize inode
    // not valid"); a stop waits for it and comes right after.
    job.filesystemTouched = true;
    const device = job.attached!.path;
    try {
      await env.runner.run({cmd: 'resize2fs', args: ['-p', device], title: 'Grow the filesystem to fill the image', progress: 'resize2fs', uninterruptible: true});
    } catch (error) {
      // Its words name the attach path, which is gone once detached: name the volume instead.
      if (error instanceof StepError) throw new StepError(error.message, error.step, error.output.map((l) => l.split(device).join(`${job.path} (attached)`)), error.fix);
      throw error;
    }
  },
};

const readBack: FlowStep<ResizeJob> = {
  id: 'read-back',
  title: 'Read the new size back',
  async run() {},
  async verify(job) {
    const after = await inspectVolume(job.path);
    if (after.virtualSize !== job.newSize) throw new StepError(`the image is ${after.virtualSize} bytes, not ${job.newSize}`, 'read-back');
    return `${formatBytes(after.virtualSize)}, ${after.filesystem} labelled "${after.label ?? ''}"; verdict ${after.verdict}`;
  },
};

export function resizeFlow(job: ResizeJob): Flow<ResizeJob> {
  return {
    id: 'resize',
    title: `Grow ${job.path.split('/').pop()} to ${formatBytes(job.newSize)}`,
    steps: [guardNotInUse, growContainer, attachStep<ResizeJob>(), fsck, growFilesystem, detachAndCheckStep<ResizeJob>(), readBack],
  };
}
