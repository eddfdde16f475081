// Repair a damaged volume in place: the qcow2 metadata first when qemu marked it corrupt or
// `qemu-img check` finds errors or leaks (`qemu-img check -r all`, which also clears the corrupt
// bit), then the filesystem through the usual writable attach (`e2fsck -f -y` for ext2/3/4,
// `xfs_repair` for XFS), then a graceful detach with `qemu-img check`, and the verdict read again.
// The filesystem tools answer yes to every fix, so files they cannot repair are dropped or moved to
// lost+found: the command asks for the file name typed back before this flow runs.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {InUseError, StepError, UsageError} from '../src/errors.js';
import {refuseProvisioned} from '../src/commands/role-options.js';
import {formatBytes} from '../src/volume/size.js';
import {inspectVolume, type Inspection} from '../src/volume/inspect.js';
import {E2FSCK_EXIT} from './resize.js';
import {attachStep, detachAndCheckStep, guardNotInUse, type VolumeJob} from './steps.js';

export interface RepairJob extends VolumeJob {
  /** What the qcow2 step found or did, for the result. */
  imageRepair?: string;
  /** qemu-img check -r all ran (the corrupt bit, errors or leaks). */
  imageRepaired?: boolean;
  /** What the filesystem tool said it did. */
  fsRepair?: string;
  /** The verdict read once everything is done. */
  after?: Inspection;
}

/** The filesystems repair knows: the tool, its arguments, and how its exit code reads. */
export const REPAIR_TOOLS: Record<string, {cmd: string; args: (device: string) => string[]; fixed: (code: number) => boolean; meaning: (code: number) => string}> = {
  ext4: {cmd: 'e2fsck', args: (d) => ['-f', '-y', d], fixed: (c) => c <= 2, meaning: (c) => E2FSCK_EXIT[c] ?? `exit code ${c}: a combination of errors`},
  xfs: {
    cmd: 'xfs_repair',
    args: (d) => [d],
    fixed: (c) => c === 0,
    // Exit 2: the log holds changes that only a mount can replay; -L would throw them away.
    meaning: (c) => (c === 0 ? 'the filesystem is consistent now' : c === 2 ? 'its log holds changes that only mounting it replays (xfs_repair -L would discard them and may lose data)' : `xfs_repair could not repair it (exit code ${c})`),
  },
};
REPAIR_TOOLS.ext3 = REPAIR_TOOLS.ext4!;
REPAIR_TOOLS.ext2 = REPAIR_TOOLS.ext4!;

/** qemu-img check exit codes (qemu-img(1)). */
const QEMU_CHECK_EXIT: Record<number, string> = {0: 'no errors', 1: 'the check could not be completed', 2: 'the image is corrupt', 3: 'leaked clusters (harmless)', 63: 'the format cannot be checked'};

const repairImage: FlowStep<RepairJob> = {
  id: 'repair-image',
  title: 'Check and repair the qcow2 metadata (qemu-img check)',
  changesDisk: true,
  skip(job) {
    return job.before.format === 'raw' ? 'a raw image has no metadata of its own' : undefined;
  },
  async run(job, env) {
    const args = ['-f', 'qcow2', '--', job.path];
    const found = await env.runner.run({cmd: 'qemu-img', args: ['check', ...args], title: 'Check the qcow2 structure', check: false});
    // qemu-img check says 0 for an image whose only fault is the corrupt bit: the bit is read from the header.
    if (found.exitCode === 0 && !job.before.qcow2Corrupt) {
      job.imageRepair = 'the qcow2 metadata: no errors (qemu-img check)';
      return;
    }
    const why = [job.before.qcow2Corrupt ? 'the corrupt bit was set' : '', found.exitCode ? QEMU_CHECK_EXIT[found.exitCode] ?? `exit code ${found.exitCode}` : ''].filter(Boolean).join('; ');
    const fixed = await env.runner.run({cmd: 'qemu-img', args: ['check', '-r', 'all', ...args], title: 'Repair the qcow2 metadata (qemu-img check -r all)', check: false});
    if (fixed.exitCode !== 0) {
      throw new StepError(`qemu-img check -r all could not repair the image: ${QEMU_CHECK_EXIT[fixed.exitCode] ?? `exit code ${fixed.exitCode}`}`, 'repair-image', fixed.tail, `copy what can be read to a new image: qemu-img convert -f qcow2 -O qcow2 ${job.path} ${job.path.replace(/\.qcow2$/i, '')}-copy.qcow2`);
    }
    job.imageRepaired = true;
    job.imageRepair = `qemu-img check -r all: repaired (${why})`;
  },
  async verify(job) {
    return job.imageRepair;
  },
};

const repairFilesystem: FlowStep<RepairJob> = {
  id: 'repair-fs',
  title: 'Check and repair the filesystem',
  changesDisk: true,
  async run(job, env) {
    const tool = REPAIR_TOOLS[job.before.filesystem ?? '']!;
    const device = job.attached!.path;
    // Never signalled: a filesystem check stopped half-way can leave it worse than it found it.
    const r = await env.runner.run({cmd: tool.cmd, args: tool.args(device), title: `Repair the ${job.before.filesystem} filesystem (${tool.cmd})`, check: false, capture: true, uninterruptible: true});
    if (!tool.fixed(r.exitCode)) {
      throw new StepError(`${tool.cmd} stopped with exit code ${r.exitCode}: ${tool.meaning(r.exitCode)}`, 'repair-fs', r.tail.map((l) => l.split(device).join(`${job.path} (attached)`)), `run tdx-wizard repair ${job.path} again; if it fails the same way, copy the data off (the guest cannot be given this volume)`);
    }
    const fixes = (r.stdout + '\n' + r.tail.join('\n')).split('\n').filter((l) => /\?\s+yes\s*$/.test(l)).length;
    job.fsRepair = `${tool.cmd}: ${tool.meaning(r.exitCode)}${fixes ? ` (${fixes} fix${fixes === 1 ? '' : 'es'} answered yes)` : ''}`;
  },
  async verify(job) {
    return job.fsRepair;
  },
};

const verdictAfter: FlowStep<RepairJob> = {
  id: 'verify-after',
  title: 'Verify the volume again',
  async run() {},
  async verify(job, env) {
    if (env.runner.dryRun) return undefined;
    job.after = await inspectVolume(job.path, job.expect);
    return `verdict ${job.after.verdict}${job.after.accepted ? ' (the VM will accept it)' : ''}: ${job.after.reason}`;
  },
};

export function repairFlow(job: RepairJob): Flow<RepairJob> {
  return {
    id: 'repair',
    title: `Repair ${job.path.split('/').pop()}`,
    steps: [guardNotInUse, repairImage, attachStep<RepairJob>(), repairFilesystem, detachAndCheckStep<RepairJob>(), verdictAfter],
  };
}

/** What repair will not touch, refused before anything is written (exit 2, or the in-use code). */
export function refuseRepair(before: Inspection): void {
  const {path} = before;
  if (before.inUse) throw new InUseError(`${path} is in use (${before.inUseDetail}); repairing it now would change it under the process that holds it`, 'stop the VM (tdx-wizard stop) or disconnect the NBD device (tdx-wizard nbd list) first');
  refuseProvisioned(before, 'repairing');
  if (before.filesystem === 'crypto_LUKS') {
    throw new UsageError(`${path} is LUKS-encrypted: its filesystem is inside the encryption, and only the guest that holds the key can check it`, 'leave it to the guest (it checks its filesystem at boot); for a fresh volume, create a new one');
  }
  if (before.backingChain.length) throw new UsageError(`${path} has a backing file; repairing the overlay would write fixes over the backing data`, 'repair a standalone volume (qemu-img convert it first)');
  if (before.format === 'raw' && /\.qcow2$/i.test(path)) throw new UsageError(`${path} is a raw file named .qcow2`, before.fix);
  if (!REPAIR_TOOLS[before.filesystem ?? '']) {
    throw new UsageError(
      `${path} holds ${before.filesystem === 'empty' ? 'no filesystem' : before.filesystem ?? 'nothing readable'}; repair checks ext4 (e2fsck) and XFS (xfs_repair) filesystems`,
      before.fix ?? `tdx-wizard inspect ${path}`,
    );
  }
}

/** What the operator is told before typing the name, one short line each (the screen shows them as rows, the CLI as one paragraph). */
export function repairLoss(before: Inspection): string[] {
  const tool = REPAIR_TOOLS[before.filesystem!]!.cmd;
  return [
    `${before.path} (${formatBytes(before.virtualSize ?? 0)}, ${before.filesystem}${before.label ? ` labelled "${before.label}"` : ''}, verdict ${before.verdict}).`,
    ...(before.qcow2Corrupt ? ['qemu-img check -r all repairs the qcow2 metadata first.'] : []),
    `${tool} answers yes to every fix:`,
    'files it cannot repair are removed or moved to lost+found.',
    'Copy off anything you cannot lose first.',
  ];
}
