// tdx-wizard create <path> <size>: make the cache volume, verified.
import type {Command} from 'commander';
import {Option} from 'commander';
import {createFlow, reclaimCreateLeftovers, type CreateJob} from '../../flows/create.js';
import {UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reclaimFuseLeftovers} from '../attach/index.js';
import {action} from '../cli/program.js';
import {askYesNo} from '../cli/prompt.js';
import type {CliContext} from '../cli/context.js';
import {toShellScript} from '../runner/transcript.js';
import {CACHE_LABEL, checkLabel} from '../volume/label.js';
import {checkVolumeSize, formatBytes, parseSize} from '../volume/size.js';
import {checkSpace} from '../volume/space.js';
import {checkTarget} from '../volume/target.js';
import {stepEnv} from '../cli/step-env.js';
import {requireRoot} from '../cli/root.js';

export function register(program: Command): void {
  program
    .command('create')
    .description('create the qcow2 cache volume: ext4 labelled tdx-cache, verified')
    .argument('<path>', 'the new volume file, e.g. cache-volume.qcow2 (must not exist)')
    .argument('<size>', 'its virtual size: 5000G, 5T, 100g or plain bytes (units are powers of 1024)')
    .option('--label <label>', 'the ext4 label the guest looks for', CACHE_LABEL)
    .addOption(new Option('--method <method>', 'offline: mkfs on a sparse file then convert (no root, no NBD); nbd: the seed procedure').choices(['offline', 'nbd']).default('offline'))
    .option('--force-small', 'allow a volume under 100G (for tests)')
    .option('--create-parent', 'create the parent directory if it does not exist')
    .action(action('create', (ctx, args, opts) => create(ctx, args[0]!, args[1]!, opts)));
}

async function create(ctx: CliContext, pathArg: string, sizeArg: string, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  runner.preload();
  // Every input is checked before anything is touched.
  const sizeBytes = parseSize(sizeArg);
  checkVolumeSize(sizeBytes, sizeArg, Boolean(opts.forceSmall));
  const {label, warnings: labelWarnings} = checkLabel(String(opts.label));
  const method = opts.method as CreateJob['method'];
  if (method === 'nbd' && !runner.dryRun) requireRoot('create --method nbd', 'it connects the image to /dev/nbdN with qemu-nbd, and only root may open NBD devices', 'sudo tdx-wizard create --method nbd ..., or leave out --method nbd: the offline method needs no root');
  // What a run killed with SIGKILL left for this target (its work directory, the empty reserved file).
  for (const note of await reclaimCreateLeftovers(runner, pathArg)) reporter.warn(note);
  for (const note of await reclaimFuseLeftovers(runner)) reporter.warn(note);
  const target = checkTarget(pathArg);
  const space = await checkSpace(target.dir, sizeBytes, method);
  if (space.error) throw new UsageError(space.error.message, space.error.fix);
  for (const warning of [...labelWarnings, ...target.warnings, ...space.warnings]) reporter.warn(warning);

  let createParent = Boolean(opts.createParent);
  if (target.parentMissing && !createParent && !runner.dryRun) {
    createParent = await askYesNo(`${target.dir} does not exist. Create it?`, '--create-parent');
    if (!createParent) throw new UsageError(`${target.dir} does not exist`, 'create it first, or pass --create-parent');
  }

  const job: CreateJob = {target, sizeBytes, label, method, createParent};
  const flow = createFlow(job);
  await runFlow(flow, job, stepEnv(ctx));

  if (runner.dryRun) {
    const planned = ctx.store.getState().runs;
    reporter.print(toShellScript(planned, `plan: ${flow.title}; nothing was run`));
    reporter.result({ok: true, dryRun: true, path: target.path, commands: planned.map((r) => r.argv)}, '');
    return 0;
  }
  const evidence = ctx.store.getState().steps.find((s) => s.id === 'verify')?.detail ?? '';
  reporter.result(
    {ok: true, path: target.path, virtualSize: sizeBytes, label, method, evidence, free: space.free ?? null},
    `created ${target.path}\n  ${evidence}\n  virtual size ${formatBytes(sizeBytes)}\nnext: tdx-wizard verify ${target.path}   (then launch with --cache-volume ${target.path})`,
  );
  return 0;
}
