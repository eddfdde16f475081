// tdx-wizard config-volume <path>: the guest's config volume (hostname, miner SS58 and seed,
// network), built without root or NBD (flows/config-volume.ts), verified by reading it back.
// The seed comes from a file or stdin, never from the command line, and is a secret to the runner
// from the moment it is read.
import type {Command} from 'commander';
import {buildConfigVolume} from '../../flows/config-volume.js';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {stepEnv} from '../cli/step-env.js';
import {UsageError} from '../errors.js';
import {toShellScript} from '../runner/transcript.js';
import {configValuesFromOptions} from '../config-volume/options.js';
import {DEFAULT_DNS} from '../config-volume/values.js';

export function register(program: Command): void {
  program
    .command('config-volume')
    .description('create the guest\'s config volume (qcow2, ext4 labelled tdx-config: hostname, miner SS58 and seed, network), verified; no root, no NBD')
    .argument('<path>', 'the volume file, e.g. config-miner-01.qcow2 (must not exist, unless --refresh)')
    .option('--hostname <name>', 'the VM hostname (lower case letters, digits, "-"; at most 63)')
    .option('--miner-ss58 <address>', 'the miner hotkey address (SS58, starts with 5)')
    .option('--miner-seed-file <path>', 'a file holding the miner seed (64 hex characters; keep it mode 0600), or - for stdin')
    .option('--vm-ip <ip>', 'the VM address (the guest makes it a /24)')
    .option('--vm-gateway <ip>', 'the gateway, in the VM\'s /24 (the host bridge, e.g. 192.168.100.1)')
    .option('--vm-dns <ip>', 'the DNS server', DEFAULT_DNS)
    .option('--docker-hub-username <name>', 'newest guests only: a Docker Hub user (with --docker-hub-token-file)')
    .option('--docker-hub-token-file <path>', 'newest guests only: a file holding the Docker Hub token')
    .option('--refresh', 'rewrite an existing config volume with these values (refused while a VM uses it)')
    .option('--create-parent', 'create the parent directory if it does not exist')
    .action(action('config-volume', (ctx, args, opts) => configVolume(ctx, args[0]!, opts)));
}

async function configVolume(ctx: CliContext, pathArg: string, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  const values = configValuesFromOptions(ctx, opts);

  const env = stepEnv(ctx);
  const built = await buildConfigVolume(env, {path: pathArg, values, refresh: Boolean(opts.refresh), createParent: Boolean(opts.createParent)});

  if (runner.dryRun) {
    const planned = ctx.store.getState().runs;
    reporter.print(toShellScript(planned, `plan: ${built.refreshed ? 'refresh' : 'create'} the config volume ${built.path}; nothing was run`));
    reporter.result({ok: true, dryRun: true, path: built.path, refresh: built.refreshed, commands: planned.map((r) => r.argv)}, '');
    return 0;
  }
  const rb = built.readback;
  reporter.result(
    {ok: true, path: built.path, refreshed: built.refreshed, evidence: built.evidence ?? '', files: rb?.files ?? [], values: rb?.values ?? {}, seed: rb?.seed ?? {}},
    `${built.refreshed ? 'refreshed' : 'created'} ${built.path}\n  ${built.evidence ?? ''}\n` +
      `  hostname ${values.hostname}; address ${values.vmIp}/24 via ${values.vmGateway}, DNS ${values.vmDns}\n` +
      `  miner-ss58 ${values.minerSs58}; miner-seed ${rb?.seed.valid ? 'valid' : 'NOT valid'} (not shown)${values.dockerHub ? `; Docker Hub user ${values.dockerHub.username}` : ''}\n` +
      `next: give it to the launcher as --config-volume ${built.path}`,
  );
  return 0;
}
