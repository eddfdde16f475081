// Format an existing volume in place as ext4 with the guest's label. mkfs.ext4 asks nothing when
// it runs under a program, so the caller has already shown what would be lost and had the file
// name typed back; this flow re-checks the image is not in use, formats, and reads the result back.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import {inspectVolume} from '../src/volume/inspect.js';
import {attachStep, detachAndCheckStep, guardNotInUse, type VolumeJob} from './steps.js';

export interface FormatJob extends VolumeJob {
  label: string;
}

const mkfs: FlowStep<FormatJob> = {
  id: 'mkfs',
  title: 'Format ext4',
  changesDisk: true,
  async run(job, env) {
    await env.runner.run({cmd: 'mkfs.ext4', args: ['-F', '-L', job.label, job.attached!.path], title: `Format ext4, label ${job.label}`, progress: 'mke2fs'});
  },
};

const readBack: FlowStep<FormatJob> = {
  id: 'read-back',
  title: 'Read the result back',
  async run() {},
  async verify(job) {
    const after = await inspectVolume(job.path, job.expect);
    if (after.filesystem !== 'ext4' || after.label !== job.label) throw new StepError(`the volume reads as ${after.filesystem} "${after.label ?? ''}" after formatting`, 'read-back');
    return `ext4 labelled "${after.label}", UUID ${after.uuid ?? '?'}; verdict ${after.verdict}`;
  },
};

export function formatFlow(job: FormatJob): Flow<FormatJob> {
  return {id: 'format', title: `Format ${job.path.split('/').pop()} as ext4 (${job.label})`, steps: [guardNotInUse, attachStep<FormatJob>(), mkfs, detachAndCheckStep<FormatJob>(), readBack]};
}
