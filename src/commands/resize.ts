// tdx-wizard resize <path> <+SIZE|SIZE>: grow the volume and its filesystem, data kept.
import type {Command} from 'commander';
import {resizeFlow, type ResizeJob} from '../../flows/resize.js';
import {action} from '../cli/program.js';
import {askYesNo} from '../cli/prompt.js';
import {stepEnv} from '../cli/step-env.js';
import {UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reportPlan} from '../cli/plan.js';
import {volumeBeforeWrite} from './before-write.js';
import {formatBytes, parseSize, QCOW2_MAX_BYTES} from '../volume/size.js';
import {checkSpace} from '../volume/space.js';
import {refuseUnreachableGrow} from '../volume/grow-plan.js';
import {existingVolumePath, requireWritable} from './volume-path.js';
import {dirname} from 'node:path';
import {noteChange} from '../inventory/manifest.js';

export function register(program: Command): void {
  program
    .command('resize')
    .description('grow a volume and its ext4 filesystem (qemu-img resize, e2fsck -f, resize2fs); never shrinks')
    .argument('<path>', 'the volume file')
    .argument('<size>', 'the new size (6000G) or the growth (+1000G)')
    .option('--yes', 'do not ask before growing')
    .action(
      action('resize', async (ctx, [pathArg, sizeArg], opts) => {
        const path = existingVolumePath(pathArg!);
        const relative = sizeArg!.startsWith('+');
        const amount = parseSize(relative ? sizeArg!.slice(1) : sizeArg!);
        const before = await volumeBeforeWrite(ctx, path);
        if (before.virtualSize === undefined) throw new UsageError(before.reason, before.fix);
        if (before.filesystem === 'crypto_LUKS') {
          throw new UsageError(`${path} is LUKS-encrypted: the guest owns it and resizes nothing from the host`, 'leave it as it is; a larger cache needs a new volume');
        }
        if (!['ext4', 'ext3', 'ext2'].includes(before.filesystem ?? '')) throw new UsageError(`${path} holds ${before.filesystem}; only ext4 volumes can be grown here`, before.filesystem === 'xfs' ? growXfsByHand(path, before.format ?? 'qcow2', sizeArg!) : before.fix);
        const newSize = relative ? before.virtualSize + amount : amount;
        if (newSize > QCOW2_MAX_BYTES) throw new UsageError(`${formatBytes(newSize)} is larger than a qcow2 image can be`, 'choose at most 2048T');
        // An earlier resize that was stopped after `qemu-img resize` left the filesystem smaller than
        // the image: asking for the same size again finishes the job instead of saying "nothing to do".
        const unfinished = before.filesystemSize !== undefined && before.virtualSize - before.filesystemSize >= 2 ** 20;
        if (newSize === before.virtualSize && unfinished) {
          ctx.reporter.warn(`the image is already ${formatBytes(newSize)} but its filesystem fills only ${formatBytes(before.filesystemSize!)}: an earlier resize stopped after growing the image; growing the filesystem now`);
        } else if (newSize === before.virtualSize) {
          ctx.reporter.result({ok: true, path, size: newSize, changed: false}, `${path} is already ${formatBytes(newSize)}: nothing to do`);
          return 0;
        }
        if (newSize < before.virtualSize) {
          throw new UsageError(
            `${sizeArg} is smaller than the volume (${formatBytes(before.virtualSize)}): shrinking is refused. It would need e2fsck -f, resize2fs to a size above its minimum (resize2fs -P), and only then qemu-img resize --shrink; a wrong step loses the data`,
            `to grow, give a larger size or +SIZE (e.g. +1000G)`,
          );
        }
        // What the grow needs and can reach, from the superblock, before anything changes.
        await refuseUnreachableGrow(path, before.format ?? 'qcow2', newSize);
        const space = await checkSpace(dirname(path), newSize, 'nbd');
        for (const w of [...before.warnings, ...space.warnings]) ctx.reporter.warn(w);
        if (!ctx.runner.dryRun) requireWritable(path, 'resize');
        if (!opts.yes && !ctx.runner.dryRun) {
          const yes = await askYesNo(`Grow ${path} from ${formatBytes(before.virtualSize)} to ${formatBytes(newSize)}?`, '--yes');
          if (!yes) throw new UsageError('not confirmed: nothing was changed');
        }
        const job: ResizeJob = {path, newSize, before};
        const flow = resizeFlow(job);
        await runFlow(flow, job, stepEnv(ctx));
        if (ctx.runner.dryRun) return reportPlan(ctx, flow.title, {path, previousSize: before.virtualSize, size: newSize});
        const evidence = ctx.store.getState().steps.find((s) => s.id === 'read-back')?.detail ?? '';
        noteChange(path, 'touched', ctx.reporter.warn);
        ctx.reporter.result({ok: true, path, previousSize: before.virtualSize, size: newSize, changed: true, evidence}, `grew ${path}: ${formatBytes(before.virtualSize)} -> ${formatBytes(newSize)}\n  ${evidence}`);
        return 0;
      }),
    );
}

/**
 * XFS grows only while mounted (xfs_growfs takes a mount point), which the wizard does not do to a
 * volume: the commands to do it by hand, on a volume no VM uses.
 */
function growXfsByHand(path: string, format: string, size: string): string {
  const grow = format === 'raw' ? `truncate -s ${size} ${path}` : `qemu-img resize ${path} ${size}`;
  const mount = format === 'raw' ? `mount -o loop ${path} /mnt` : `qemu-nbd --connect /dev/nbd0 ${path} && mount /dev/nbd0 /mnt`;
  const unmount = format === 'raw' ? 'umount /mnt' : 'umount /mnt && qemu-nbd --disconnect /dev/nbd0';
  return `with the VM stopped: ${grow}, then ${mount} && xfs_growfs /mnt && ${unmount}`;
}
