// tdx-wizard format <path> [--label tdx-cache] [--confirm NAME]: make an existing volume ext4 in
// place. Whatever it holds is destroyed, so an existing filesystem or LUKS header needs the
// volume's file name typed back (--confirm NAME without a terminal); --yes never covers that.
import type {Command} from 'commander';
import {basename} from 'node:path';
import {formatFlow, type FormatJob} from '../../flows/format.js';
import {action} from '../cli/program.js';
import {askYesNo, confirmTyped} from '../cli/prompt.js';
import {stepEnv} from '../cli/step-env.js';
import {InUseError, UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reportPlan} from '../cli/plan.js';
import {volumeBeforeWrite} from './before-write.js';
import {checkLabel} from '../volume/label.js';
import {expectationFrom, refuseProvisioned, roleOptions} from './role-options.js';
import {formatBytes} from '../volume/size.js';
import {existingVolumePath, requireWritable} from './volume-path.js';
import {noteChange} from '../inventory/manifest.js';

export function register(program: Command): void {
  const cmd = program
    .command('format')
    .description('format an existing volume in place as ext4 (destroys what it holds; asks for the file name)')
    .argument('<path>', 'the volume file')
    .option('--label <label>', "the ext4 label (default: the role's, tdx-cache for the cache)")
    .option('--confirm <name>', 'the volume file name, typed back: required when it holds a filesystem or LUKS header')
    .option('--yes', 'do not ask when the volume is empty (never enough when it holds data)');
  roleOptions(cmd).action(
      action('format', async (ctx, [pathArg], opts) => {
        const path = existingVolumePath(pathArg!);
        const expect = expectationFrom(opts);
        if (!expect.spec.debugFs.includes('ext4')) throw new UsageError(`the ${expect.era.id} debug guest mounts its ${expect.spec.role} volume as ${expect.spec.debugFs.join(' or ')}; format makes ext4`, `create a new volume instead: tdx-wizard create <path> --role ${expect.spec.role} --era ${expect.era.id}`);
        const {label, warnings} = checkLabel(String(opts.label ?? expect.spec.label), expect.spec);
        for (const w of warnings) ctx.reporter.warn(w);
        const before = await volumeBeforeWrite(ctx, path, expect);
        refuseProvisioned(before, 'formatting');
        if (before.inUse) throw new InUseError(`${path} is in use (${before.inUseDetail}); formatting it now would destroy it under the running VM`, 'stop the VM or disconnect the NBD device first');
        if (before.backingChain.length) throw new UsageError(`${path} has a backing file; formatting the overlay would hide the backing data`, 'format a standalone volume, or create a new one: tdx-wizard create');
        if (before.format === 'raw' && /\.qcow2$/i.test(path)) throw new UsageError(`${path} is a raw file named .qcow2`, before.fix);
        if (!ctx.runner.dryRun) requireWritable(path, 'format');
        if (before.filesystem === 'empty') {
          if (!opts.yes && !ctx.runner.dryRun) {
            if (!(await askYesNo(`Format the empty volume ${path} as ext4 "${label}"?`, '--yes'))) throw new UsageError('not confirmed: nothing was changed');
          }
        } else {
          const what =
            before.filesystem === 'crypto_LUKS'
              ? `a LUKS${before.label ? ` header labelled "${before.label}"` : ' header'}: a production guest's encrypted data; its key cannot bring it back`
              : `${before.filesystem}${before.label ? ` labelled "${before.label}"` : ''}${before.verdict === 'ready' ? ' (the guest would already accept it)' : ''}`;
          const loss = `${path} (${formatBytes(before.virtualSize ?? 0)}) holds ${what}. Formatting destroys everything on it.`;
          if (!ctx.runner.dryRun || opts.confirm !== undefined) await confirmTyped(basename(path), loss, opts.confirm as string | undefined);
        }
        const job: FormatJob = {path, label, before, expect};
        const flow = formatFlow(job);
        await runFlow(flow, job, stepEnv(ctx));
        if (ctx.runner.dryRun) return reportPlan(ctx, flow.title, {path, label, previous: before.filesystem ?? null});
        noteChange(path, 'made', ctx.reporter.warn); // a new filesystem: the next generation
        const evidence = ctx.store.getState().steps.find((s) => s.id === 'read-back')?.detail ?? '';
        ctx.reporter.result({ok: true, path, label, previous: before.filesystem ?? null, changed: true, evidence}, `formatted ${path}\n  ${evidence}`);
        return 0;
      }),
    );
}
