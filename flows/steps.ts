// Steps shared by the flows that write to an existing volume: refuse an image in use, attach,
// detach gracefully and check the image afterwards.
import type {FlowStep} from '../src/flow-runner.js';
import {InUseError} from '../src/errors.js';
import {attachVolume, type Attached} from '../src/attach/index.js';
import {imageUse} from '../src/attach/holders.js';
import type {Inspection} from '../src/volume/inspect.js';
import type {Expectation} from '../src/volume/judge.js';
import {qemuImgCheck} from '../src/volume/qemu-check.js';

/** What a job on an existing volume carries. */
export interface VolumeJob {
  path: string;
  before: Inspection;
  /** The role and era the volume is judged as (the document's cache volume when absent). */
  expect?: Expectation;
  attached?: Attached;
  checkEvidence?: string;
}

export const guardNotInUse: FlowStep<VolumeJob> = {
  id: 'not-in-use',
  title: 'Make sure no VM or qemu-nbd uses the image',
  async run(job) {
    const use = await imageUse(job.path);
    if (use.inUse) {
      throw new InUseError(`${job.path} is in use (${use.detail}); writing to it now could destroy it`, 'stop the VM (tdx-wizard stop) or disconnect the NBD device (tdx-wizard nbd list) first');
    }
  },
  async verify(job) {
    return `not in use`;
  },
};

export function attachStep<J extends VolumeJob>(): FlowStep<J> {
  return {
    id: 'attach',
    title: 'Attach the volume',
    async run(job, env) {
      job.attached = await attachVolume(env.runner, job.path, {format: job.before.format ?? 'qcow2', writable: true});
    },
    async verify(job) {
      return job.attached?.via === 'fuse' ? `attached at ${job.attached.path}` : undefined;
    },
    async undo(job) {
      await job.attached?.detach();
    },
  };
}

export function detachAndCheckStep<J extends VolumeJob>(): FlowStep<J> {
  return {
    id: 'detach',
    title: 'Detach and check the image',
    async run(job, env) {
      await job.attached?.detach();
      job.checkEvidence = await qemuImgCheck(env.runner, job.path, job.before.format ?? 'qcow2');
    },
    async verify(job) {
      return job.checkEvidence;
    },
  };
}

