// tdx-wizard create <path> [size] (or create --vm HOSTNAME [size], in the layout): make a data
// volume (cache, storage, containerd) of the kind the guest's era needs, verified.
import type {Command} from 'commander';
import {Option} from 'commander';
import {dirname, join} from 'node:path';
import {createFlow, reclaimCreateLeftovers, type CreateJob} from '../../flows/create.js';
import {UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reclaimFuseLeftovers} from '../attach/index.js';
import {action} from '../cli/program.js';
import {askYesNo} from '../cli/prompt.js';
import type {CliContext} from '../cli/context.js';
import {reportPlan} from '../cli/plan.js';
import {chooseEra, chooseFormat, chooseFs, chooseRole} from '../era/choose.js';
import {ERA_IDS, FS_MIN_BYTES} from '../era/eras.js';
import {rememberedEra} from '../era/remembered.js';
import {checkLabel} from '../volume/label.js';
import {checkVolumeSize, formatBytes, parseSize, sizeArg} from '../volume/size.js';
import {checkSpace} from '../volume/space.js';
import {checkTarget} from '../volume/target.js';
import {hostRoots} from '../host/roots.js';
import {nbdLoadable} from '../host/kernel-checks.js';
import {readModule} from '../nbd/load.js';
import {checkScratchOverride} from '../volume/scratch.js';
import {stepEnv} from '../cli/step-env.js';
import {requireRoot} from '../cli/root.js';
import {noteChange, recordVolume, refuseOtherOwners} from '../inventory/manifest.js';
import {layoutFolders, makeFolder} from '../inventory/layout.js';
import {checkHostnameForNames} from '../prepare/hostname.js';
import {defaultFileName, type ContainerFormat, type EraId, type Role, type VolumeSpec} from '../era/eras.js';

export function register(program: Command): void {
  program
    .command('create')
    .description('create a data volume (cache, storage or containerd) as the guest of an era needs it: qcow2 or raw, ext4 or XFS, labelled, verified')
    .argument('[path]', 'the new volume file, e.g. cache-volume.qcow2 or storage.raw (must not exist); leave it out with --vm')
    .argument('[size]', "its virtual size: 5000G, 5T, 100g or plain bytes (units are powers of 1024); default: the role's size in the era (cache 5000G, storage 500G)")
    .option('--era <id>', `the guest's upstream era: ${ERA_IDS.join(', ')} (default: the remembered one, else E4, the February 2026 document's)`)
    .addOption(new Option('--role <role>', 'which volume: the role decides the label and the default size').choices(['cache', 'storage', 'containerd', 'config']).default('cache'))
    .option('--format <format>', "qcow2 or raw (default: what the name says, else the era's)")
    .option('--fs <fs>', "ext4 or xfs (default: what the era's debug guest mounts)")
    .option('--label <label>', "the filesystem label the guest looks for (default: the role's: tdx-cache, storage, containerd-cache)")
    .addOption(new Option('--method <method>', 'offline: mkfs on a sparse file (no root, no NBD); nbd: the seed procedure (qcow2 and ext4 only)').choices(['offline', 'nbd']).default('offline'))
    .option('--force-small', 'allow a volume under 100G (for tests)')
    .option('--create-parent', 'create the parent directory if it does not exist')
    .option('--vm <hostname>', "place it in the layout instead of a path: <root>/vault/<hostname>/ (clear/ with --guest debug), named as upstream names it (storage-<hostname>.qcow2), recorded in the folder's manifest")
    .addOption(new Option('--guest <kind>', 'with --vm: production (it encrypts its data volumes: vault/, the default) or debug (it reads them in clear: clear/)').choices(['production', 'debug']))
    .action(action('create', (ctx, args, opts) => create(ctx, args, opts)));
}

/** The volume's path and size from the arguments: a path, or --vm (and the layout names it). */
function placeVolume(args: string[], opts: Record<string, unknown>): {pathArg: string; sizeInput?: string; vm?: string} {
  const vm = opts.vm === undefined ? undefined : String(opts.vm);
  if (vm === undefined) {
    if (opts.guest !== undefined) throw new UsageError("--guest chooses the layout's folder, so it needs --vm", 'add --vm HOSTNAME, or leave out --guest');
    if (args[0] === undefined) throw new UsageError("create needs the new volume's path, or --vm HOSTNAME to place it in the layout", 'tdx-wizard create cache-volume.qcow2, or tdx-wizard create --vm miner-01');
    return {pathArg: args[0], sizeInput: args[1]};
  }
  checkHostnameForNames(vm, '--vm ');
  const era = chooseEra(opts.era, rememberedEra());
  const spec = opts.role === 'config' ? undefined : chooseRole(era, opts.role);
  const folder = layoutFolders(vm, opts.guest === 'debug' ? 'clear' : 'vault').data;
  // A single argument that reads as a size is the size; anything else would be a second path.
  const sizeOnly = args.length === 1 && /^\d+(\.\d+)?[KMGTP]?i?B?$/i.test(args[0]!);
  if (args.length > 1 || (args.length === 1 && !sizeOnly)) {
    throw new UsageError(`--vm places the volume itself, in ${folder}/: it takes no path (${args.join(' ')})`, `leave out ${args[0]}, or leave out --vm`);
  }
  if (!spec) return {pathArg: join(layoutFolders(vm, 'vault').config, `config-${vm}.qcow2`), vm}; // chooseKind says what makes one
  return {pathArg: join(folder, defaultFileName(spec, vm, layoutFormat(spec, opts.format))), sizeInput: args[0], vm};
}

/** The format a volume placed by --vm is named for: --format if given (chooseFormat judges it), else the era's. */
function layoutFormat(spec: VolumeSpec, option: unknown): ContainerFormat {
  if (option === 'qcow2' || option === 'raw') return option;
  return spec.formatRule === 'qcow2-only' ? 'qcow2' : spec.newFormat;
}

/** Every input checked, nothing touched: the volume's kind from the era's data and the options. */
function chooseKind(pathArg: string, sizeInput: string | undefined, opts: Record<string, unknown>) {
  const era = chooseEra(opts.era, rememberedEra());
  if (opts.role === 'config') {
    throw new UsageError('the config volume is not made by create: it holds the miner\'s hostname, keys and network settings, not an empty filesystem', `tdx-wizard config-volume ${pathArg}`);
  }
  const spec = chooseRole(era, opts.role);
  const {label, warnings} = checkLabel(opts.label === undefined ? spec.label : String(opts.label), spec);
  const format = chooseFormat(spec, pathArg, opts.format);
  const fs = chooseFs(era, spec, label, opts.fs);
  const method = opts.method as CreateJob['method'];
  if (method === 'nbd' && (format !== 'qcow2' || fs !== 'ext4')) {
    throw new UsageError(`--method nbd makes qcow2 volumes with ext4 only, not ${format} with ${fs}`, 'leave out --method nbd: the offline method makes every kind, with no root and no NBD');
  }
  const sizeText = sizeInput ?? spec.defaultSize;
  const sizeBytes = parseSize(sizeText);
  checkVolumeSize(sizeBytes, sizeText, Boolean(opts.forceSmall));
  if (sizeBytes < FS_MIN_BYTES[fs]) {
    const name = fs === 'xfs' ? 'XFS' : 'ext4';
    throw new UsageError(`size ${sizeText} is too small for ${name}`, `${name} needs at least ${sizeArg(FS_MIN_BYTES[fs])}: choose a larger size${fs === 'xfs' ? ', or --fs ext4' : ''}`);
  }
  return {era, spec, label, warnings, format, fs, method, sizeBytes};
}

/** --method nbd needs the nbd module: said before anything is written (it made a 5000G qcow2 first, then failed). */
async function requireNbdModule(runner: CliContext['runner']): Promise<void> {
  if ((await readModule(hostRoots())).loaded) return;
  const {loadable, said} = await nbdLoadable(runner);
  if (!loadable) throw new UsageError(`this kernel has no nbd module (modprobe -n nbd: ${said}): --method nbd cannot attach the volume, and nothing was made`, 'leave out --method nbd: the offline method makes the same volume without NBD or root');
}

async function create(ctx: CliContext, args: string[], opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  runner.preload();
  // Every input is checked before anything is touched.
  const {pathArg, sizeInput, vm} = placeVolume(args, opts);
  const {era, spec, label, warnings: labelWarnings, format, fs, method, sizeBytes} = chooseKind(pathArg, sizeInput, opts);
  if (method === 'nbd' && !runner.dryRun) requireRoot('create --method nbd', 'it connects the image to /dev/nbdN with qemu-nbd, and only root may open NBD devices', 'sudo tdx-wizard create --method nbd ..., or leave out --method nbd: the offline method needs no root');
  checkScratchOverride();
  // What a run killed with SIGKILL left for this target (its work directory, the empty reserved file).
  for (const note of await reclaimCreateLeftovers(runner, pathArg)) reporter.warn(note);
  const target = checkTarget(pathArg, format);
  if (vm) refuseOtherOwners([target.path], vm);
  if (method === 'nbd' && !runner.dryRun) await requireNbdModule(runner);
  const space = await checkSpace(target.dir, sizeBytes, method, fs);
  if (space.error) throw new UsageError(space.error.message, space.error.fix);
  for (const warning of [...labelWarnings, ...target.warnings, ...space.warnings]) reporter.warn(warning);

  let createParent = Boolean(opts.createParent) || Boolean(vm);
  if (target.parentMissing && !createParent && !runner.dryRun) {
    createParent = await askYesNo(`${target.dir} does not exist. Create it?`, '--create-parent');
    if (!createParent) throw new UsageError(`${target.dir} does not exist`, 'create it first, or pass --create-parent');
  }

  // Other runs' leftovers only once the input is accepted: a refused command changes nothing.
  for (const note of await reclaimFuseLeftovers(runner)) reporter.warn(note);
  if (vm) await makeFolder(runner, target.dir); // 0700, the kind's folder above it too: the flow makes none
  const job: CreateJob = {target: vm ? {...target, parentMissing: false} : target, sizeBytes, label, format, fs, method, createParent};
  const flow = createFlow(job);
  await runFlow(flow, job, stepEnv(ctx));

  const kind = {role: spec.role, era: era.id, format, fs, label};
  if (runner.dryRun) return reportPlan(ctx, flow.title, {path: target.path, ...kind});
  if (vm) recordInLayout(target.path, vm, spec.role, era.id, reporter.warn);
  else noteChange(target.path, 'made', reporter.warn);
  const evidence = ctx.store.getState().steps.find((s) => s.id === 'verify')?.detail ?? '';
  const verify = `tdx-wizard verify ${target.path}${spec.role === 'cache' ? '' : ` --role ${spec.role}`}`;
  reporter.result(
    {ok: true, path: target.path, virtualSize: sizeBytes, ...kind, method, evidence, free: space.free ?? null},
    `created ${target.path}\n  ${evidence}\n  virtual size ${formatBytes(sizeBytes)}\nnext: ${verify}   (then launch with ${spec.flag} ${target.path})`,
  );
  return 0;
}

/** A volume made by --vm goes into its folder's manifest (a new generation, a new UUID). */
function recordInLayout(path: string, vm: string, role: Role, era: EraId, warn: (text: string) => void): void {
  try {
    recordVolume(dirname(path), vm, path, {role, era, event: 'made'});
  } catch (error) {
    warn(`the manifest of ${dirname(path)} was not written: ${(error as Error).message}`);
  }
}
