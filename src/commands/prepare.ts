// tdx-wizard prepare --dir DIR --hostname H [--era E4] …: every volume the era's guest reads, in one
// run. Existing volumes the guest accepts are reused; a wrong one refuses the whole run (with its
// fix) before anything changes; a second run changes nothing and says so.
import {dirname, join, resolve} from 'node:path';
import type {Command} from 'commander';
import {Option} from 'commander';
import {prepareFlow} from '../../flows/prepare.js';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {stepEnv} from '../cli/step-env.js';
import {eraFromOption} from '../era/remembered.js';
import {defaultFileName, ERA_IDS, volumeSpec, type Era} from '../era/eras.js';
import {layoutFolders, makeFolder, recordSet} from '../inventory/layout.js';
import {refuseOtherOwners} from '../inventory/manifest.js';
import {describeAction, planSet, refusals, type Plan} from '../prepare/plan.js';
import {configGiven, configValuesFrom} from '../prepare/config-part.js';
import {checkHostnameForNames} from '../prepare/hostname.js';
import {checkBeforePrepare, checkSetDir, compareConfig, creating, runPrepare, setEvidence} from '../prepare/run.js';
import {toShellScript} from '../runner/transcript.js';

export function register(program: Command): void {
  program
    .command('prepare')
    .description("create or check every volume the era's guest needs (cache, storage, config, …) in one run")
    .option('--dir <dir>', 'where the volumes go (named as upstream names them: cache-<hostname>.qcow2, …); default: the layout, <root>/vault/<hostname>/ (or clear/ for --guest debug)')
    .addOption(new Option('--guest <kind>', 'the guest image the set is for, when the layout places it: production (it encrypts its data volumes: vault/) or debug (it reads them in clear: clear/); the config volume always goes to vault/').choices(['production', 'debug']).default('production'))
    .requiredOption('--hostname <name>', "the VM's hostname: it names the files and goes into the config volume")
    .option('--era <era>', `the guest era: ${ERA_IDS.join(', ')} (default: the remembered one, else E4, the February 2026 document's)`)
    .option('--cache-size <size>', 'size of the cache volume (default: the era’s, 5000G)')
    .option('--storage-size <size>', 'size of the storage volume (default: the era’s, 500G)')
    .option('--containerd-size <size>', 'size of the containerd volume (E3b; default 500G)')
    .addOption(new Option('--format <format>', 'container format of new data volumes (default: the era’s)').choices(['qcow2', 'raw']))
    .addOption(new Option('--fs <fs>', 'filesystem of new data volumes (default: what the era’s debug guest mounts)').choices(['ext4', 'xfs']))
    .option('--miner-ss58 <address>', "the miner's SS58 hotkey address (config volume)")
    .option('--miner-seed-file <path>', 'a file holding the miner seed, 64 hex characters, or - for stdin (config volume; never on the command line)')
    .option('--vm-ip <ip>', "the VM's address (config volume; default 192.168.100.2)")
    .option('--vm-gateway <ip>', "the VM's gateway (config volume; default 192.168.100.1)")
    .option('--vm-dns <ip>', "the VM's DNS server (config volume; default 8.8.8.8)")
    .option('--force-small', 'allow volumes under 100G (for tests)')
    .option('--create-dir', 'create --dir if it does not exist')
    .action(action('prepare', (ctx, _args, opts) => prepare(ctx, opts)));
}

async function prepare(ctx: CliContext, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  runner.preload();
  const era = eraFromOption(opts.era);
  const hostname = String(opts.hostname);
  checkHostnameForNames(hostname, '--hostname ');
  // No --dir: the layout's folders for this VM (made below, 0700, once everything is accepted).
  const layout = opts.dir === undefined ? layoutFolders(hostname, opts.guest === 'debug' ? 'clear' : 'vault') : undefined;
  const dir = layout ? layout.data : resolve(String(opts.dir));
  if (!layout) checkSetDir(dir, Boolean(opts.createDir));

  const plan = await planSet({
    era,
    dir,
    hostname,
    ...(layout && era.volumes.some((v) => v.role === 'config') ? {paths: {config: join(layout.config, defaultFileName(volumeSpec(era, 'config')!, hostname))}} : {}),
    sizes: {cache: opts.cacheSize as string | undefined, storage: opts.storageSize as string | undefined, containerd: opts.containerdSize as string | undefined},
    format: opts.format as string | undefined,
    fs: opts.fs as string | undefined,
    forceSmall: Boolean(opts.forceSmall),
  });
  const refused = refusals(plan);
  if (refused) throw refused;
  // One volume, one VM: a volume whose folder's manifest names another VM is refused.
  refuseOtherOwners(plan.actions.map((a) => a.path), hostname);
  // The config volume's values are checked with everything else, before anything is touched. An
  // existing config volume is compared with the values given, when some are: rewritten if they differ.
  const config = plan.actions.find((a) => a.spec.role === 'config');
  const configValues = config && (config.kind === 'create' || configGiven(opts)) ? configValuesFrom(ctx, opts, hostname) : undefined;
  if (configValues) await compareConfig(plan, configValues);
  const todo = creating(plan);

  if (!todo.length) {
    if (layout && !runner.dryRun) recordSet(plan, hostname, reporter.warn); // only what the manifest did not know yet
    reporter.result(resultData(plan, false), [`nothing to do: every volume of the ${era.id} set is there and the guest will accept it`, ...plan.actions.map(describeAction)].join('\n'));
    return 0;
  }
  const env = stepEnv(ctx);
  // The settings library loads while the volumes are made: it only writes the era and directory at the end.
  const settings = import('../settings.js');
  settings.catch(() => undefined);
  if (layout) for (const folder of new Set(plan.actions.map((a) => dirname(a.path)))) await makeFolder(runner, folder);
  await checkBeforePrepare(env, plan);
  for (const line of plan.actions.map(describeAction)) reporter.info(line);
  const flow = prepareFlow(await runPrepare(env, plan, configValues, Boolean(opts.createDir) || Boolean(layout)));

  if (runner.dryRun) {
    const planned = ctx.store.getState().runs;
    reporter.print(toShellScript(planned, `plan: ${flow.title}; nothing was run`));
    reporter.result({...resultData(plan, false), dryRun: true, commands: planned.map((r) => r.argv)}, '');
    return 0;
  }
  if (layout) recordSet(plan, hostname, reporter.warn);
  await rememberSet(settings, era, dir, reporter.warn);
  const evidence = setEvidence(env);
  reporter.result(resultData(plan, true), [`prepared the ${era.id} set in ${dir}: ${evidence}`, ...plan.actions.map(describeAction), `next: tdx-wizard verify --dir ${dir} --hostname ${hostname} --era ${era.id}`].join('\n'));
  return 0;
}

function resultData(plan: Plan, changed: boolean): Record<string, unknown> {
  return {
    ok: true,
    changed,
    era: plan.era.id,
    dir: plan.dir,
    volumes: plan.actions.map((a) => ({role: a.spec.role, label: a.spec.label, path: a.path, action: a.kind, ...(a.kind === 'create' ? {format: a.format, fs: a.fs, sizeBytes: a.sizeBytes} : {verdict: a.inspection.verdict}), ...(a.kind === 'refresh' ? {changed: a.changed} : {}), ...(a.kind === 'reuse' && a.smaller ? {smallerThan: a.smaller.size} : {})})),
  };
}

/** The era and the directory, offered next time (the wizard's defaults, verify's era). */
async function rememberSet(settings: Promise<typeof import('../settings.js')>, era: Era, dir: string, warn: (text: string) => void): Promise<void> {
  try {
    const {loadSettings, remember} = await settings;
    remember(loadSettings().store, {era: era.id, volumeDir: dir});
  } catch (error) {
    warn(`the era and directory were not remembered: ${(error as Error).message}`);
  }
}
