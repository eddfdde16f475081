// Repair a volume's label without touching its data, with the filesystem's own tool
// (src/volume/label.ts LABEL_WRITERS): e2label for ext4, xfs_admin -L for XFS, `cryptsetup config
// --label` for LUKS2 (no key needed). The image is attached, written, detached gracefully, checked
// with qemu-img check, and read back with the project's own reader.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import {inspectVolume} from '../src/volume/inspect.js';
import {LABELLED, labelWriter} from '../src/volume/label.js';
import {attachStep, detachAndCheckStep, guardNotInUse, type VolumeJob} from './steps.js';

export interface RelabelJob extends VolumeJob {
  label: string;
}

const writeLabel: FlowStep<RelabelJob> = {
  id: 'write-label',
  title: 'Write the new label',
  changesDisk: true,
  async run(job, env) {
    const writer = labelWriter(job.before.filesystem);
    if (!writer) throw new StepError(`${job.path} holds ${job.before.filesystem ?? 'nothing readable'}; only ${LABELLED} volumes can be relabelled`, 'write-label');
    await env.runner.run({cmd: writer.cmd, args: writer.args(job.attached!.path, job.label), title: `Set the ${writer.name} label to ${job.label}`});
  },
};

const readBack: FlowStep<RelabelJob> = {
  id: 'read-back',
  title: 'Read the label back',
  async run() {},
  async verify(job) {
    const after = await inspectVolume(job.path, job.expect);
    if (after.label !== job.label) throw new StepError(`the label reads "${after.label ?? ''}" after writing "${job.label}"`, 'read-back');
    return `${after.filesystem} labelled "${after.label}", UUID ${after.uuid ?? '?'} (unchanged: ${after.uuid === job.before.uuid ? 'yes' : 'no'}); verdict ${after.verdict}`;
  },
};

export function relabelFlow(job: RelabelJob): Flow<RelabelJob> {
  return {
    id: 'relabel',
    title: `Relabel ${job.path.split('/').pop()} as ${job.label}`,
    steps: [guardNotInUse, attachStep<RelabelJob>(), writeLabel, detachAndCheckStep<RelabelJob>(), readBack],
  };
}
