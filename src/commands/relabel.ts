// tdx-wizard relabel <path> [--label tdx-cache]: repair the label, keep the data.
import type {Command} from 'commander';
import {relabelFlow, type RelabelJob} from '../../flows/relabel.js';
import {action} from '../cli/program.js';
import {askYesNo} from '../cli/prompt.js';
import {stepEnv} from '../cli/step-env.js';
import {UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reportPlan} from '../cli/plan.js';
import {volumeBeforeWrite} from './before-write.js';
import {checkLabel, checkLabelFits, LABELLED, labelWriter} from '../volume/label.js';
import {expectationFrom, refuseProvisioned, roleOptions} from './role-options.js';
import {existingVolumePath, requireWritable} from './volume-path.js';
import {noteChange} from '../inventory/manifest.js';

export function register(program: Command): void {
  const cmd = program
    .command('relabel')
    .description('set the label of an ext4 or LUKS2 volume (data kept); refuses an image in use')
    .argument('<path>', 'the volume file')
    .option('--label <label>', "the new label (default: the role's, tdx-cache for the cache)")
    .option('--yes', 'do not ask before writing the label');
  roleOptions(cmd).action(
      action('relabel', async (ctx, [pathArg], opts) => {
        const path = existingVolumePath(pathArg!);
        const expect = expectationFrom(opts);
        const {label, warnings} = checkLabel(String(opts.label ?? expect.spec.label), expect.spec);
        for (const w of warnings) ctx.reporter.warn(w);
        const before = await volumeBeforeWrite(ctx, path, expect);
        if (before.label !== label) refuseProvisioned(before, 'relabelling');
        if (before.filesystem === 'crypto_LUKS' && before.label === undefined && before.verdict === 'wrong-label' && !before.fix) {
          throw new UsageError(`${path} is LUKS1, which has no label`, 'LUKS1 volumes cannot be labelled; the guest needs LUKS2 or ext4');
        }
        const writer = labelWriter(before.filesystem);
        if (!writer) throw new UsageError(`${path} holds ${before.filesystem ?? 'nothing readable'}; only ${LABELLED} volumes can be relabelled`, before.fix ?? `make a new volume: tdx-wizard create ${path.replace(/(\.[^./]+)?$/, '-2$1')}`);
        checkLabelFits(label, writer, expect.spec);
        if (before.label === label) {
          ctx.reporter.result({ok: true, path, label, changed: false}, `${path} is already labelled "${label}": nothing to do`);
          return 0;
        }
        if (!ctx.runner.dryRun) requireWritable(path, 'relabel');
        if (!opts.yes && !ctx.runner.dryRun) {
          const yes = await askYesNo(`Change the label of ${path} from "${before.label ?? ''}" to "${label}"?`, '--yes');
          if (!yes) throw new UsageError('not confirmed: nothing was changed');
        }
        const job: RelabelJob = {path, label, before, expect};
        const flow = relabelFlow(job);
        await runFlow(flow, job, stepEnv(ctx));
        if (ctx.runner.dryRun) return reportPlan(ctx, flow.title, {path, label, previous: before.label ?? null});
        const evidence = ctx.store.getState().steps.find((s) => s.id === 'read-back')?.detail ?? '';
        noteChange(path, 'touched', ctx.reporter.warn);
        ctx.reporter.result({ok: true, path, label, previous: before.label ?? null, changed: true, evidence}, `relabelled ${path}: "${before.label ?? ''}" -> "${label}"\n  ${evidence}`);
        return 0;
      }),
    );
}
