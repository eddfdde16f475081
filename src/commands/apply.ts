// tdx-wizard apply FILE [--check]: brings this host to what FILE describes (src/apply/spec.ts): the
// era's volume set, its config volume, and the VM running or stopped. It runs the wizard's own
// commands (prepare, status, launch, stop) as children through the runner, so each keeps every
// check and refusal it has; apply adds what changed and why. Idempotent: a second apply changes
// nothing and says so. It never formats, relabels or overwrites: a volume the guest would refuse
// stops it with that volume's fix. --check asks prepare for its plan (--dry-run) and status for the
// VM, and changes nothing.
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {readHostFile, type HostSpec} from '../apply/spec.js';
import {detectEraSync} from '../era/detect.js';
import {eraFromOption} from '../era/remembered.js';
import {needsConfigVolume, type Era} from '../era/eras.js';
import {StepError, UsageError} from '../errors.js';
import {seedFromEnv} from '../seed-env.js';
import {adapterFor} from '../vm/adapters/index.js';

interface Action {
  what: string;
  why: string;
  done: boolean;
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('bring this host to what a host description says (the volume set, the config volume, the VM running or stopped); idempotent; --check plans only')
    .argument('<file>', "the host description (YAML): the wizard's keys, or upstream's quick-launch.sh config.yaml with tdx_wizard: extras")
    .option('--check', 'print the plan (each action and why) and change nothing')
    .action(action('apply', (ctx, [file], opts) => apply(ctx, file!, Boolean(opts.check))));
}

async function apply(ctx: CliContext, file: string, check: boolean): Promise<number> {
  const {reporter, runner} = ctx;
  const spec = readHostFile(file);
  const era = eraOf(spec);
  const seed = seedOf(spec);
  if (seed) runner.addSecret(seed);
  const actions: Action[] = [];

  // The volume set (and the config volume where the era has one).
  const prepared = await child(ctx, 'prepare', prepareArgs(spec, era, check, Boolean(seed)), seed && needsConfigVolume(era) ? {input: `${seed}\n`} : {});
  const volumes = (prepared.volumes ?? []) as Array<{role: string; path: string; action: string; smallerThan?: string}>;
  for (const v of volumes) {
    if (v.action !== 'reuse') actions.push({what: `${v.action} the ${v.role} volume ${v.path}`, why: v.action === 'create' ? 'it does not exist' : 'its config files differ from the description', done: !check});
    // Smaller than described: grown (resize keeps every refusal it has: a production guest's LUKS volume is never touched).
    if (v.smallerThan && spec.sizes[v.role as keyof HostSpec['sizes']]) {
      if (!check) await child(ctx, 'resize', ['resize', '--json', '--yes', v.path, v.smallerThan], {});
      actions.push({what: `grow the ${v.role} volume ${v.path} to ${v.smallerThan}`, why: 'it is smaller than the description says', done: !check});
    }
  }

  // The VM, when the description says how it should be.
  if (spec.vm) {
    const status = await child(ctx, 'status', ['status', '--json', '--lines', '0'], {});
    const running = Boolean(status.running);
    if (spec.vm === 'running' && !running) {
      if (!spec.launcher) throw new UsageError(`${spec.source.path} says vm: running but names no launcher`, 'add launcher: PATH (the upstream launcher of the era)');
      if (!check) await child(ctx, 'launch', launchArgs(spec, era, volumes), seed ? {env: {TDX_MINER_SEED: seed}} : {});
      actions.push({what: `launch the VM with ${spec.launcher}`, why: `it is not running (${String(status.pidFileState ?? 'no pid file')})`, done: !check});
    } else if (spec.vm === 'stopped' && running) {
      if (!check) await child(ctx, 'stop', ['stop', '--json', '--yes', ...(spec.launcher ? ['--launcher', spec.launcher] : []), '--era', era.id], {});
      actions.push({what: `stop the VM (pid ${String(status.pid)})`, why: 'the description says vm: stopped', done: !check});
    }
  }

  const changed = !check && actions.length > 0;
  const lines = actions.map((a) => `${check ? 'would ' : ''}${a.what}: ${a.why}`);
  const summary = actions.length ? (check ? `plan for ${spec.hostname} (--check: nothing was changed)` : `${spec.hostname} now matches ${spec.source.path}`) : `nothing to do: ${spec.hostname} matches ${spec.source.path}`;
  reporter.result({ok: true, changed, check, hostname: spec.hostname, era: era.id, shape: spec.source.shape, actions, volumes: volumes.map((v) => ({role: v.role, path: v.path}))}, [summary, ...lines].join('\n'));
  return 0;
}

function eraOf(spec: HostSpec): Era {
  if (spec.era) return eraFromOption(spec.era);
  const found = spec.launcher ? detectEraSync(spec.launcher) : undefined;
  return found?.era ?? eraFromOption(undefined);
}

/** The seed the description names: a file is handed on by its path; a variable is read here, and taken out of the environment. */
function seedOf(spec: HostSpec): string | undefined {
  if (!spec.seed || !('env' in spec.seed)) return undefined;
  const name = spec.seed.env;
  const value = name === 'TDX_MINER_SEED' ? seedFromEnv() : process.env[name];
  delete process.env[name];
  if (!value) throw new UsageError(`${spec.source.path} names the seed by the variable ${name}, which is not set`, `export ${name} (or name a seed file with miner.seed_file)`);
  return value.trim();
}

function prepareArgs(spec: HostSpec, era: Era, check: boolean, seedOnStdin: boolean): string[] {
  const args = ['prepare', '--json', '--era', era.id, '--hostname', spec.hostname];
  if (check) args.push('--dry-run');
  if (spec.dir) args.push('--dir', spec.dir, '--create-dir');
  for (const role of ['cache', 'storage', 'containerd'] as const) if (spec.sizes[role] && era.volumes.some((v) => v.role === role)) args.push(`--${role}-size`, spec.sizes[role]!);
  if (spec.forceSmall) args.push('--force-small');
  if (needsConfigVolume(era)) {
    if (spec.ss58) args.push('--miner-ss58', spec.ss58);
    if (spec.seed && 'file' in spec.seed) args.push('--miner-seed-file', spec.seed.file);
    else if (seedOnStdin) args.push('--miner-seed-file', '-');
    if (spec.network.vmIp) args.push('--vm-ip', spec.network.vmIp);
    if (spec.network.vmGateway) args.push('--vm-gateway', spec.network.vmGateway);
    if (spec.network.vmDns) args.push('--vm-dns', spec.network.vmDns);
  }
  return args;
}

/** launch's flags for what this era's launcher takes (its adapter's options), and the set's volumes by role. */
function launchArgs(spec: HostSpec, era: Era, volumes: ReadonlyArray<{role: string; path: string}>): string[] {
  const takes = new Set<string>(adapterFor(era).options);
  const args = ['launch', '--json', '--era', era.id, '--launcher', spec.launcher!];
  for (const v of volumes) args.push(`--${v.role}-volume`, v.path);
  const n = spec.network;
  const give = (key: string, flag: string, value: string | undefined) => value !== undefined && takes.has(key) && args.push(flag, value);
  give('hostname', '--hostname', spec.hostname);
  give('minerSs58', '--miner-ss58', spec.ss58);
  if (spec.seed && 'file' in spec.seed) give('minerSeedFile', '--miner-seed-file', spec.seed.file);
  // A seed from a variable reaches launch as TDX_MINER_SEED (child's env), never as an argument.
  give('image', '--image', spec.image);
  give('networkType', '--network-type', n.type);
  give('netIface', '--net-iface', n.iface);
  give('vmIp', '--vm-ip', n.vmIp);
  give('vmGateway', '--vm-gateway', n.vmGateway);
  give('vmDns', '--vm-dns', n.vmDns);
  give('sshPort', '--ssh-port', n.sshPort);
  return args;
}

/** One of the wizard's own commands as a child, through the runner; its JSON result, or its refusal as ours. */
async function child(ctx: CliContext, name: string, args: string[], extra: {input?: string; env?: Record<string, string>}): Promise<Record<string, unknown>> {
  const result = await ctx.runner.run({cmd: process.execPath, args: [process.argv[1]!, ...args], title: `tdx-wizard ${args.join(' ')}`, capture: true, check: false, ...extra});
  const events = result.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const error = events.find((e) => e.type === 'error');
  if (error) {
    const message = `${name}: ${String(error.message)}`;
    const fix = typeof error.fix === 'string' ? error.fix : undefined;
    if (error.kind === 'bad-input' || error.kind === 'in-use' || result.exitCode === 2) throw new UsageError(message, fix);
    throw new StepError(message, `tdx-wizard ${name}`, result.tail, fix);
  }
  const found = events.find((e) => e.type === 'result');
  if (!found || result.exitCode !== 0) throw new StepError(`tdx-wizard ${name} ended with exit code ${result.exitCode} and no result`, `tdx-wizard ${name}`, result.tail);
  return found;
}
