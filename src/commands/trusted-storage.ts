// tdx-wizard trusted-storage create NAME --size S --dir D [--node N] …: a host block device for a
// confidential container's trusted storage (src/trusted/), its Kubernetes objects (written, and
// applied with kubectl when asked); teardown NAME removes exactly what create made, after the name
// is typed back.
import {existsSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {hostname} from 'node:os';
import {join, resolve} from 'node:path';
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {askYesNo, confirmTyped} from '../cli/prompt.js';
import {reportPlan} from '../cli/plan.js';
import {stepEnv} from '../cli/step-env.js';
import {runFlow} from '../flow-runner.js';
import {openedBy} from '../attach/holders.js';
import {list} from '../inventory/find.js';
import {UsageError} from '../errors.js';
import {formatBytes} from '../volume/size.js';
import {recordTmp, trustedFlow, unitName, type TrustedJob} from '../trusted/flow.js';
import {planTeardown, runTeardown} from '../trusted/teardown.js';
import {applyManifests} from '../trusted/apply.js';
import {refuseBlocking, trustedChecks} from '../trusted/checks.js';
import {DNS_LABEL} from '../trusted/names.js';
import {checkName, planTrusted} from '../trusted/plan.js';
import {table} from './check.js';

export function register(program: Command): void {
  const cmd = program.command('trusted-storage').description("a host block device for a confidential container's trusted storage (/dev/trusted_store), and its Kubernetes objects");
  cmd
    .command('create')
    .description('make the backing file (fallocate), a loop device kept across reboots by a systemd unit, and the StorageClass, PersistentVolume, claim and example pod')
    .argument('<name>', 'a DNS label: names the file, the unit and the objects (<name>-pv, <name>-pvc, <name>-example)')
    .requiredOption('--size <size>', 'the device size, e.g. 100G')
    .requiredOption('--dir <dir>', 'where the backing file goes (<dir>/<name>.img) with its manifests and record')
    .option('--node <name>', 'the Kubernetes node name (default: this host name)')
    .option('--namespace <ns>', 'the namespace of the claim and pod', 'default')
    .option('--runtime-class <name>', 'the pod runtime class', 'kata-qemu-tdx')
    .option('--storage-class <name>', 'an existing block storage class to use instead of making one (e.g. open-local-lvm)')
    .option('--image <image>', "the example pod's image", 'busybox:1.36')
    .option('--unit-dir <dir>', 'where the systemd unit goes', '/etc/systemd/system')
    .option('--systemd-root <dir>', 'systemctl --root: enable the unit in an image or another root instead of the running system')
    .option('--containerd-config <path>', "containerd's configuration, checked for guest pull (read, never written); default: /etc/containerd/config.toml, else k3s's or rke2's")
    .option('--apply', 'kubectl apply the manifests, then report the claim and the pod')
    .option('--yes', 'do not ask before enabling the unit')
    .action(action('trusted-storage create', (ctx, [name], opts) => create(ctx, name!, opts)));
  cmd
    .command('check')
    .description("what trusted storage needs, read-only: losetup and a free loop device, systemd, kubectl and its context, the runtime class and the node in the cluster, containerd's guest-pull configuration")
    .option('--runtime-class <name>', 'the pod runtime class', 'kata-qemu-tdx')
    .option('--node <name>', 'the Kubernetes node name (default: this host name)')
    .option('--containerd-config <path>', "containerd's configuration (read, never written); default: /etc/containerd/config.toml, else k3s's or rke2's")
    .action(
      action('trusted-storage check', async (ctx, _args, opts) => {
        const checks = await trustedChecks(ctx.runner, {runtimeClass: String(opts.runtimeClass), node: String(opts.node ?? hostname()), ...(opts.containerdConfig === undefined ? {} : {containerdConfig: resolve(String(opts.containerdConfig))})});
        const failed = checks.filter((c) => c.status === 'fail').length;
        ctx.reporter.result({ok: failed === 0, failed, warnings: checks.filter((c) => c.status === 'warn').length, checks}, table(checks));
        return failed ? 1 : 0;
      }),
    );
  cmd
    .command('teardown')
    .description('remove what create made: the objects (with --kubectl), the unit, the loop device, the file; after the name is typed back')
    .argument('<name>')
    .requiredOption('--dir <dir>', 'the directory create used')
    .option('--kubectl', 'kubectl delete the objects first')
    .option('--confirm <name>', 'the name, typed back (the file and its data are destroyed)')
    .action(action('trusted-storage teardown', (ctx, [name], opts) => teardown(ctx, name!, opts)));
}

async function create(ctx: CliContext, name: string, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  const job = await planTrusted({
    name,
    size: String(opts.size),
    dir: String(opts.dir),
    node: String(opts.node ?? hostname()),
    namespace: String(opts.namespace),
    runtimeClass: String(opts.runtimeClass),
    storageClass: opts.storageClass === undefined ? undefined : String(opts.storageClass),
    image: String(opts.image),
    unitDir: String(opts.unitDir),
    systemdRoot: opts.systemdRoot === undefined ? undefined : String(opts.systemdRoot),
  });
  const {file, unitDir, input: {node, runtimeClass, sizeBytes}} = job;
  if (!runner.dryRun) {
    const warnings = refuseBlocking(await trustedChecks(runner, {runtimeClass, node, ...(opts.containerdConfig === undefined ? {} : {containerdConfig: resolve(String(opts.containerdConfig))})}), Boolean(opts.apply));
    for (const c of warnings) reporter.warn(c.summary, c.fix);
  }
  if (!runner.dryRun && !opts.yes && !(await askYesNo(`Make ${file} (${formatBytes(sizeBytes)}, allocated), attach it to a loop device, and enable ${unitName(name)} to attach it at every boot?`, '--yes'))) {
    throw new UsageError('not confirmed: nothing was made');
  }
  await runFlow(trustedFlow(job), job, stepEnv(ctx));
  if (runner.dryRun) return reportPlan(ctx, `trusted storage ${name} (${formatBytes(sizeBytes)}) on node ${node}`, {name, file, manifests: job.manifestPath});
  const applied = opts.apply ? await applyManifests(ctx.runner, job) : undefined;
  reporter.result(
    {ok: true, name, file, device: job.device ?? null, node, unit: join(unitDir, unitName(name)), manifests: job.manifestPath, applied: applied ?? null},
    [
      `trusted storage ${name}: ${file} (${formatBytes(sizeBytes)}) on ${job.device ?? 'a loop device'}, attached at every boot by ${unitName(name)}`,
      `manifests: ${job.manifestPath}${applied ? ` (applied: claim ${applied.claim}, pod ${applied.pod})` : `\nnext: kubectl apply -f ${job.manifestPath}`}`,
    ].join('\n'),
  );
  return 0;
}

async function teardown(ctx: CliContext, name: string, opts: Record<string, unknown>): Promise<number> {
  const plan = await planTeardown(name, resolve(String(opts.dir)));
  if (!plan.unfinished) await confirmTyped(name, `This destroys ${plan.rec.file} and everything the guest stored on it.`, opts.confirm as string | undefined);
  const {removed, text} = await runTeardown(ctx.runner, plan, Boolean(opts.kubectl));
  ctx.reporter.result({ok: true, name, removed}, text);
  return 0;
}
