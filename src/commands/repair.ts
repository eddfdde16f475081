// tdx-wizard repair <path> [--confirm NAME]: repair a damaged volume in place (qemu-img check -r all
// when the qcow2 needs it, then e2fsck -f -y or xfs_repair through a writable attach). The
// filesystem tools may drop files they cannot repair, so the file name is typed back first
// (--confirm NAME without a terminal); an image in use and a LUKS volume are refused.
import type {Command} from 'commander';
import {basename} from 'node:path';
import {refuseRepair, repairFlow, repairLoss, type RepairJob} from '../../flows/repair.js';
import {action} from '../cli/program.js';
import {confirmTyped} from '../cli/prompt.js';
import {stepEnv} from '../cli/step-env.js';
import {runFlow} from '../flow-runner.js';
import {reportPlan} from '../cli/plan.js';
import {volumeBeforeWrite} from './before-write.js';
import {expectationFrom, roleOptions} from './role-options.js';
import {existingVolumePath, requireWritable} from './volume-path.js';
import {isDamaged} from '../volume/verdict.js';
import {noteChange} from '../inventory/manifest.js';

export function register(program: Command): void {
  const cmd = program
    .command('repair')
    .description('repair a damaged volume: qemu-img check -r all when needed, then e2fsck -f -y (ext4) or xfs_repair (XFS); may drop damaged files, so it asks for the file name')
    .argument('<path>', 'the volume file')
    .option('--confirm <name>', 'the volume file name, typed back (needed without a terminal)');
  roleOptions(cmd).action(
    action('repair', async (ctx, [pathArg], opts) => {
      const path = existingVolumePath(pathArg!);
      const expect = expectationFrom(opts);
      const before = await volumeBeforeWrite(ctx, path, expect);
      refuseRepair(before);
      if (!ctx.runner.dryRun) requireWritable(path, 'repair');
      if (!ctx.runner.dryRun || opts.confirm !== undefined) await confirmTyped(basename(path), repairLoss(before).join(' '), opts.confirm as string | undefined);
      const job: RepairJob = {path, before, expect};
      const flow = repairFlow(job);
      await runFlow(flow, job, stepEnv(ctx));
      if (ctx.runner.dryRun) return reportPlan(ctx, flow.title, {path, filesystem: before.filesystem ?? null, verdict: before.verdict});
      const after = job.after!;
      noteChange(path, 'touched', ctx.reporter.warn);
      const lines = [`repaired ${path}`, job.imageRepair, job.fsRepair, job.checkEvidence, `verdict ${after.verdict}${after.accepted ? ' (the VM will accept it)' : ''}: ${after.reason}`];
      if (!after.accepted && after.fix) lines.push(`fix: ${after.fix}`);
      ctx.reporter.result(
        {ok: true, path, before: before.verdict, imageRepair: job.imageRepair ?? null, fsRepair: job.fsRepair ?? null, check: job.checkEvidence ?? null, verdict: after.verdict, accepted: after.accepted, reason: after.reason, fix: after.fix ?? null},
        lines.filter(Boolean).join('\n  '),
      );
      // The tools did their work; a volume still damaged afterwards is a failure to say so.
      return isDamaged(after) ? 1 : 0;
    }),
  );
}
