// Repair a volume's label without touching its data: e2label for ext4, `cryptsetup config --label`
// for LUKS2 (no key needed). The image is attached, written, detached gracefully, checked with
// qemu-img check, and read back with the project's own reader.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import {inspectVolume} from '../src/volume/inspect.js';
import {attachStep, detachAndCheckStep, guardNotInUse, type VolumeJob} from './steps.js';

export interface RelabelJob extends VolumeJob {
  label: string;
}

const writeLabel: FlowStep<RelabelJob> = {
  id: 'write-label',
  title: 'Write the new label',
  changesDisk: true,
  async run(job, env) {
    const device = job.attached!.path;
    if (job.before.filesystem === 'crypto_LUKS') {
      await env.runner.run({cmd: 'cryptsetup', args: ['config', '--label', job.label, '--', device], title: `Set the LUKS2 label to ${job.label}`});
    } else {
      await env.runner.run({cmd: 'e2label', args: [device, job.label], title: `Set the ext4 label to ${job.label}`});
    }
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
