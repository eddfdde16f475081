// The seed document's procedure, done safely: qemu-img create, qemu-nbd --connect (on a device
// that is really free, waiting until the kernel shows it ready), a probe that the device is
// empty, mkfs.ext4, blkid, and a disconnect confirmed through sysfs.
import type {FlowStep, StepEnv} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import {attachImage} from '../src/nbd/index.js';
import {atLeast, mke2fsVersion, PREZEROED_SINCE} from '../src/volume/e2fsprogs.js';
import type {CreateJob} from './create.js';

const createQcow2: FlowStep<CreateJob> = {
  id: 'qcow2',
  title: 'Create the qcow2 image',
  changesDisk: true,
  async run(job, env) {
    await env.runner.run({cmd: 'qemu-img', args: ['create', '-q', '-f', 'qcow2', '--', job.qcowPath!, String(job.sizeBytes)], title: 'Create an empty qcow2 image'});
  },
};

const attach: FlowStep<CreateJob> = {
  id: 'attach',
  title: 'Connect it to a free NBD device',
  async run(job, env) {
    const attachment = await attachImage(env.runner, job.qcowPath!, {virtualSize: job.sizeBytes, format: 'qcow2', signal: env.signal});
    job.device = attachment.path;
    job.detach = () => attachment.detach();
  },
  async verify(job) {
    return `connected to ${job.device}`;
  },
  async undo(job) {
    await job.detach?.();
  },
};

const probeEmpty: FlowStep<CreateJob> = {
  id: 'probe',
  title: 'Make sure the device is empty',
  async run(job, env) {
    // mkfs.ext4 asks nothing when it runs under a program: the wizard looks first.
    const r = await env.runner.run({cmd: 'blkid', args: ['-p', '-o', 'export', job.device!], title: `Probe ${job.device} for an existing filesystem`, okExitCodes: [0, 2], capture: true});
    if (r.exitCode === 0 && /^TYPE=/m.test(r.stdout)) {
      throw new StepError(`${job.device} already holds ${/^TYPE=(.*)$/m.exec(r.stdout)?.[1]}; refusing to format it`, 'probe', r.tail, 'detach it and check which image it serves: tdx-wizard nbd list');
    }
  },
};

const mkfs: FlowStep<CreateJob> = {
  id: 'mkfs',
  title: 'Format ext4',
  changesDisk: true,
  async run(job, env) {
    // The device shows the qcow2 made a moment ago (qemu-img create, nothing written), which reads
    // as zeros. mkfs.ext4 cannot know that of a block device (a discard over NBD promises nothing),
    // so without being told it leaves the inode tables unmarked, and the guest's kernel zeroes
    // them in the background after the first mount (ext4lazyinit: 40 GiB for 5000G). Only here:
    // never for a volume that may hold data (format).
    const prezeroed = env.runner.dryRun || (await knowsPrezeroed(env));
    const args = ['-F', '-L', job.label, ...(prezeroed ? ['-E', 'assume_storage_prezeroed=1'] : []), job.device!];
    await env.runner.run({cmd: 'mkfs.ext4', args, title: `Format ext4 on ${job.device}, label ${job.label}`, progress: 'mke2fs'});
  },
  async verify(job, env) {
    const r = await env.runner.run({cmd: 'blkid', args: ['-p', '-o', 'export', job.device!], title: `Check ${job.device} with blkid`, capture: true});
    const type = /^TYPE=(.*)$/m.exec(r.stdout)?.[1];
    const label = /^LABEL=(.*)$/m.exec(r.stdout)?.[1];
    if (type !== 'ext4' || label !== job.label) throw new StepError(`blkid shows TYPE=${type ?? 'none'} LABEL=${label ?? 'none'}`, 'mkfs', r.tail);
    return `blkid: TYPE=ext4 LABEL=${label}`;
  },
};

/** Can this mkfs.ext4 be told the device reads as zeros? Says what follows when it cannot. */
async function knowsPrezeroed(env: StepEnv): Promise<boolean> {
  const {version, said} = await mke2fsVersion(env.runner, env.signal);
  if (version && atLeast(version, PREZEROED_SINCE)) return true;
  env.warn(
    `${said || 'mkfs.ext4 (its version unknown)'} cannot mark the new inode tables as zeroed (that needs e2fsprogs ${PREZEROED_SINCE.join('.')} or later): the guest's kernel will zero them in the background after the first mount`,
    'upgrade e2fsprogs, or leave out --method nbd: the offline method marks them zeroed with any version',
  );
  return false;
}

const detach: FlowStep<CreateJob> = {
  id: 'detach',
  title: 'Disconnect the NBD device',
  async run(job) {
    await job.detach?.();
    job.detach = undefined;
  },
};

export const nbdFormatSteps: FlowStep<CreateJob>[] = [createQcow2, attach, probeEmpty, mkfs, detach];
