// tdx-wizard prepare --dir DIR --hostname H [--era E4] …: every volume the era's guest reads, in one
// run. Existing volumes the guest accepts are reused; a wrong one refuses the whole run (with its
// fix) before anything changes; a second run changes nothing and says so.
import {existsSync, statSync} from 'node:fs';
import {resolve} from 'node:path';
import type {Command} from 'commander';
import {Option} from 'commander';
import {createFlow, reclaimCreateLeftovers, type CreateJob} from '../../flows/create.js';
import {prepareFlow, type PreparePart} from '../../flows/prepare.js';
import {UsageError} from '../errors.js';
import {runFlow} from '../flow-runner.js';
import {reclaimFuseLeftovers} from '../attach/index.js';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {stepEnv} from '../cli/step-env.js';
import {eraFromOption} from '../era/remembered.js';
import {ERA_IDS, type Era} from '../era/eras.js';
import {describeAction, planSet, refusals, type Action, type Plan} from '../prepare/plan.js';
import {configChanges, configGiven, configPart, configValuesFrom} from '../prepare/config-part.js';
import {toShellScript} from '../runner/transcript.js';
import {checkSpace} from '../volume/space.js';
import {checkTarget} from '../volume/target.js';

export function register(program: Command): void {
  program
    .command('prepare')
    .description("create or check every volume the era's guest needs (cache, storage, config, …) in one run")
    .requiredOption('--dir <dir>', 'where the volumes go (named as upstream names them: cache-<hostname>.qcow2, …)')
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
  const dir = resolve(String(opts.dir));
  const hostname = String(opts.hostname);
  checkHostnameForNames(hostname);
  checkDir(dir, Boolean(opts.createDir));

  const plan = await planSet({
    era,
    dir,
    hostname,
    sizes: {cache: opts.cacheSize as string | undefined, storage: opts.storageSize as string | undefined, containerd: opts.containerdSize as string | undefined},
    format: opts.format as string | undefined,
    fs: opts.fs as string | undefined,
    forceSmall: Boolean(opts.forceSmall),
  });
  const refused = refusals(plan);
  if (refused) throw refused;
  // The config volume's values are checked with everything else, before anything is touched. An
  // existing config volume is compared with the values given, when some are: rewritten if they differ.
  const configIndex = plan.actions.findIndex((a) => a.spec.role === 'config');
  const configAction = plan.actions[configIndex];
  const configValues = configAction && (configAction.kind === 'create' || configGiven(opts)) ? configValuesFrom(ctx, opts, hostname) : undefined;
  if (configAction?.kind === 'reuse' && configValues) {
    const changed = await configChanges(configAction.path, configValues);
    if (changed.length) plan.actions[configIndex] = {...configAction, kind: 'refresh', changed};
  }
  const creating = plan.actions.filter((a): a is Extract<Action, {kind: 'create' | 'refresh'}> => a.kind === 'create' || a.kind === 'refresh');
  for (const a of creating) if (a.kind === 'create') checkTarget(a.path, a.format);

  if (!creating.length) {
    reporter.result(resultData(plan, false), [`nothing to do: every volume of the ${era.id} set is there and the guest will accept it`, ...plan.actions.map(describeAction)].join('\n'));
    return 0;
  }
  for (const note of await reclaimFuseLeftovers(runner)) reporter.warn(note);
  for (const a of creating) if (a.kind === 'create') for (const note of await reclaimCreateLeftovers(runner, a.path)) reporter.warn(note);
  const total = creating.reduce((sum, a) => sum + (a.kind === 'create' ? a.sizeBytes : 0), 0);
  const space = await checkSpace(dir, total, 'offline');
  if (space.error) throw new UsageError(space.error.message, space.error.fix);
  for (const w of space.warnings) reporter.warn(w.replace('the volume can grow', 'the new volumes can grow'));
  for (const line of plan.actions.map(describeAction)) reporter.info(line);

  const parts: PreparePart[] = [];
  for (const a of creating) parts.push(a.spec.role === 'config' ? await configPart(ctx, a, configValues!, Boolean(opts.createDir)) : dataPart(a as Extract<Action, {kind: 'create'}>, Boolean(opts.createDir)));
  const job = {plan, parts};
  const flow = prepareFlow(job);
  await runFlow(flow, job, stepEnv(ctx));

  if (runner.dryRun) {
    const planned = ctx.store.getState().runs;
    reporter.print(toShellScript(planned, `plan: ${flow.title}; nothing was run`));
    reporter.result({...resultData(plan, false), dryRun: true, commands: planned.map((r) => r.argv)}, '');
    return 0;
  }
  await rememberSet(era, dir, reporter.warn);
  const evidence = ctx.store.getState().steps.find((s) => s.id === 'set')?.detail ?? '';
  reporter.result(resultData(plan, true), [`prepared the ${era.id} set in ${dir}: ${evidence}`, ...plan.actions.map(describeAction), `next: tdx-wizard verify --dir ${dir} --hostname ${hostname} --era ${era.id}`].join('\n'));
  return 0;
}

function dataPart(a: Extract<Action, {kind: 'create'}>, createParent: boolean): PreparePart<CreateJob> {
  const job: CreateJob = {target: checkTarget(a.path, a.format), sizeBytes: a.sizeBytes, label: a.spec.label, method: 'offline', createParent, format: a.format, fs: a.fs};
  return {role: a.spec.role, job, flow: createFlow(job)};
}

/** The hostname names files before it names a VM: the quick-launch schema's rule, checked first. */
function checkHostnameForNames(hostname: string): void {
  if (hostname.length > 63) throw new UsageError(`the hostname is ${hostname.length} characters; the guest accepts at most 63`, 'choose a shorter hostname');
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(hostname)) {
    throw new UsageError(
      `"${hostname}" is not a hostname the guest accepts: lower-case letters, digits and "-", not at either end`,
      /[A-Z]/.test(hostname) ? `use --hostname ${hostname.toLowerCase()}` : 'choose a hostname such as miner-01',
    );
  }
}

function checkDir(dir: string, create: boolean): void {
  if (!existsSync(dir)) {
    if (create) return;
    throw new UsageError(`${dir} does not exist`, 'create it first, or pass --create-dir');
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, 'give the directory the volumes go in');
}

function resultData(plan: Plan, changed: boolean): Record<string, unknown> {
  return {
    ok: true,
    changed,
    era: plan.era.id,
    dir: plan.dir,
    volumes: plan.actions.map((a) => ({role: a.spec.role, label: a.spec.label, path: a.path, action: a.kind, ...(a.kind === 'create' ? {format: a.format, fs: a.fs, sizeBytes: a.sizeBytes} : {verdict: a.inspection.verdict}), ...(a.kind === 'refresh' ? {changed: a.changed} : {})})),
  };
}

/** The era and the directory, offered next time (the wizard's defaults, verify's era). */
async function rememberSet(era: Era, dir: string, warn: (text: string) => void): Promise<void> {
  try {
    const {loadSettings, remember} = await import('../settings.js');
    remember(loadSettings().store, {era: era.id, volumeDir: dir});
  } catch (error) {
    warn(`the era and directory were not remembered: ${(error as Error).message}`);
  }
}
