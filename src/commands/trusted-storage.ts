// tdx-wizard trusted-storage create NAME --size S --dir D [--node N] …: a host block device for a
// confidential container's trusted storage (src/trusted/), its Kubernetes objects (written, and
// applied with kubectl when asked); teardown NAME removes exactly what create made, after the name
// is typed back.
import {existsSync, statSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {hostname} from 'node:os';
import {join, resolve} from 'node:path';
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {askYesNo, confirmTyped} from '../cli/prompt.js';
import {stepEnv} from '../cli/step-env.js';
import {runFlow} from '../flow-runner.js';
import {openedBy} from '../attach/holders.js';
import {list} from '../inventory/find.js';
import {UsageError} from '../errors.js';
import {freeBytes} from '../volume/space.js';
import {formatBytes, parseSize} from '../volume/size.js';
import {recordTmp, trustedFlow, unitName, type TrustedJob} from '../trusted/flow.js';
import {loopsOf, readRecord, removeRecorded, stillCreating} from '../trusted/teardown.js';
import {trustedObjects} from '../trusted/manifests.js';
import {CLUSTER_CHECKS, HOST_CHECKS, trustedChecks, type TrustedCheckOptions} from '../trusted/checks.js';
import {table} from './check.js';

const CONTAINERD_CONFIG = '/etc/containerd/config.toml';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MIN_BYTES = 64 * 2 ** 20;

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
    .option('--containerd-config <path>', "containerd's configuration, checked for guest pull (read, never written)", CONTAINERD_CONFIG)
    .option('--apply', 'kubectl apply the manifests, then report the claim and the pod')
    .option('--yes', 'do not ask before enabling the unit')
    .action(action('trusted-storage create', (ctx, [name], opts) => create(ctx, name!, opts)));
  cmd
    .command('check')
    .description("what trusted storage needs, read-only: losetup and a free loop device, systemd, kubectl and its context, the runtime class and the node in the cluster, containerd's guest-pull configuration")
    .option('--runtime-class <name>', 'the pod runtime class', 'kata-qemu-tdx')
    .option('--node <name>', 'the Kubernetes node name (default: this host name)')
    .option('--containerd-config <path>', "containerd's configuration (read, never written)", CONTAINERD_CONFIG)
    .action(
      action('trusted-storage check', async (ctx, _args, opts) => {
        const checks = await trustedChecks(ctx.runner, {runtimeClass: String(opts.runtimeClass), node: String(opts.node ?? hostname()), containerdConfig: resolve(String(opts.containerdConfig))});
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

function checkName(what: string, value: string, pattern: RegExp, max: number, fix: string): void {
  if (value.length > max || !pattern.test(value)) throw new UsageError(`${what} "${value}" is not a valid Kubernetes name: lower-case letters, digits and "-"${pattern === DNS_SUBDOMAIN ? ' (and ".")' : ''}, at most ${max} characters, a letter or digit at each end`, fix);
}

async function create(ctx: CliContext, name: string, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  checkName('the name', name, DNS_LABEL, 55, 'e.g. trusted-store-1 (the example pod adds "-example")');
  const namespace = String(opts.namespace);
  checkName('the namespace', namespace, DNS_LABEL, 63, 'e.g. default');
  const node = String(opts.node ?? hostname());
  checkName('the node name', node, DNS_SUBDOMAIN, 253, 'give the node name as kubectl get nodes shows it: --node NAME');
  const runtimeClass = String(opts.runtimeClass);
  checkName('the runtime class', runtimeClass, DNS_SUBDOMAIN, 253, 'kata-qemu-tdx or kata-qemu, as kubectl get runtimeclass shows');
  const storageClass = String(opts.storageClass ?? `${name}-local`);
  checkName('the storage class', storageClass, DNS_SUBDOMAIN, 253, 'e.g. open-local-lvm, or leave it out to make one');
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(String(opts.size));
  } catch (error) {
    throw new UsageError(`--size ${String(opts.size)}: ${(error as Error).message}`, 'e.g. --size 100G');
  }
  if (sizeBytes < MIN_BYTES) throw new UsageError(`--size ${String(opts.size)} is below ${formatBytes(MIN_BYTES)}: the guest's dm-integrity and filesystem need room`, 'e.g. --size 100G');
  const dir = resolve(String(opts.dir));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, 'create it first, or give another --dir');
  const unitDir = resolve(String(opts.unitDir));
  if (!existsSync(unitDir)) throw new UsageError(`the unit directory ${unitDir} does not exist`, 'give --unit-dir (the running system: /etc/systemd/system)');
  const file = join(dir, `${name}.img`);
  const taken = [file, join(dir, `${name}.k8s.yaml`), join(dir, `${name}.trusted.json`), recordTmp(join(dir, `${name}.trusted.json`)), join(unitDir, unitName(name))].filter((p) => existsSync(p));
  if (taken.length) throw new UsageError(`${taken.join(', ')} exist${taken.length === 1 ? 's' : ''} already: trusted storage ${name} was made before, or the name is taken`, `choose another name, or remove the old one: tdx-wizard trusted-storage teardown ${name} --dir ${dir}`);
  // Allocated, not thin: the whole size must fit now.
  const free = await freeBytes(dir);
  if (free !== undefined && free < sizeBytes) throw new UsageError(`${dir} has ${formatBytes(free)} free; the device needs ${formatBytes(sizeBytes)} allocated`, 'free space there, choose another --dir, or a smaller --size');
  const input = {name, namespace, node, sizeBytes, storageClass, ownClass: opts.storageClass === undefined, runtimeClass, image: String(opts.image)};
  trustedObjects({...input, device: '/dev/loop0'}); // the objects must validate before anything is made
  if (!runner.dryRun) await checkFirst(ctx, {runtimeClass, node, containerdConfig: resolve(String(opts.containerdConfig))}, Boolean(opts.apply));
  if (!runner.dryRun && !opts.yes && !(await askYesNo(`Make ${file} (${formatBytes(sizeBytes)}, allocated), attach it to a loop device, and enable ${unitName(name)} to attach it at every boot?`, '--yes'))) {
    throw new UsageError('not confirmed: nothing was made');
  }
  const job: TrustedJob = {input, file, unitDir, ...(opts.systemdRoot ? {systemdRoot: resolve(String(opts.systemdRoot))} : {}), manifestPath: join(dir, `${name}.k8s.yaml`), recordPath: join(dir, `${name}.trusted.json`)};
  await runFlow(trustedFlow(job), job, stepEnv(ctx));
  const applied = opts.apply && !runner.dryRun ? await applyManifests(ctx, job) : undefined;
  reporter.result(
    {ok: true, name, file, device: job.device ?? null, node, unit: join(unitDir, unitName(name)), manifests: job.manifestPath, applied: applied ?? null},
    [
      `trusted storage ${name}: ${file} (${formatBytes(sizeBytes)}) on ${job.device ?? 'a loop device'}, attached at every boot by ${unitName(name)}`,
      `manifests: ${job.manifestPath}${applied ? ` (applied: claim ${applied.claim}, pod ${applied.pod})` : `\nnext: kubectl apply -f ${job.manifestPath}`}`,
    ].join('\n'),
  );
  return 0;
}

/**
 * The checks before anything is made: a host finding that makes create pointless (no losetup, no
 * free loop device, no systemd) refuses; so do the cluster's with --apply. The rest are warnings.
 */
async function checkFirst(ctx: CliContext, o: TrustedCheckOptions, apply: boolean): Promise<void> {
  const checks = await trustedChecks(ctx.runner, o);
  const blocking = checks.filter((c) => c.status !== 'ok' && (HOST_CHECKS.includes(c.id) || (apply && CLUSTER_CHECKS.includes(c.id))));
  if (blocking.length) {
    const host = blocking.filter((c) => HOST_CHECKS.includes(c.id)).map((c) => c.summary);
    const cluster = blocking.filter((c) => !HOST_CHECKS.includes(c.id)).map((c) => c.summary);
    const why = [...host, ...(cluster.length ? [`--apply needs a cluster: ${cluster.join('; ')}`] : [])].join('; ');
    throw new UsageError(`${why}: nothing was made`, [...new Set(blocking.map((c) => c.fix).filter(Boolean))].join('\n  fix: ') || undefined);
  }
  for (const c of checks) if (c.status !== 'ok') ctx.reporter.warn(c.summary, c.fix);
}

async function applyManifests(ctx: CliContext, job: TrustedJob): Promise<{claim: string; pod: string}> {
  await ctx.runner.run({cmd: 'kubectl', args: ['apply', '-f', job.manifestPath], title: `kubectl apply -f ${job.manifestPath}`});
  const phase = async (kind: string, name: string) =>
    (await ctx.runner.run({cmd: 'kubectl', args: ['get', kind, name, '-n', job.input.namespace, '-o', 'jsonpath={.status.phase}'], title: `kubectl get ${kind} ${name}`, capture: true, check: false})).stdout.trim() || 'unknown';
  return {claim: await phase('pvc', `${job.input.name}-pvc`), pod: await phase('pod', `${job.input.name}-example`)};
}

async function teardown(ctx: CliContext, name: string, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  checkName('the name', name, DNS_LABEL, 55, 'the name create was given');
  const dir = resolve(String(opts.dir));
  const recordPath = join(dir, `${name}.trusted.json`);
  if (!existsSync(recordPath)) {
    // create killed while writing its first record: it had made nothing else yet
    if (!existsSync(recordTmp(recordPath))) throw new UsageError(`no record of trusted storage ${name} in ${dir} (${recordPath})`, 'give the --dir create used; teardown removes only what create recorded');
    await runner.act(`Remove ${recordTmp(recordPath)}`, ['rm', '-f', '--', recordTmp(recordPath)], () => rm(recordTmp(recordPath), {force: true}));
    reporter.result({ok: true, name, removed: [recordTmp(recordPath)]}, `trusted storage ${name}: create was stopped before it made anything; removed its unfinished record`);
    return 0;
  }
  const rec = readRecord(recordPath);
  if (stillCreating(rec)) throw new UsageError(`trusted storage ${name} is still being made (create, pid ${rec.pid})`, `let it finish, or stop it (kill ${rec.pid}), then tear down`);
  const devices = loopsOf(rec.file);
  const users = [...(await Promise.all([...devices, rec.file].map((p) => openedBy(p)))).flat()].filter((h) => !/losetup/.test(h.command));
  const holders = devices.flatMap((d) => list(`/sys/block/${d.replace('/dev/', '')}/holders`));
  if (users.length || holders.length) throw new UsageError(`${devices.join(', ') || rec.file} is in use (${[...users.map((u) => `${u.command} pid ${u.pid}`), ...holders].join(', ')})`, 'stop the pod that uses it first (kubectl delete pod), then tear down');
  await confirmTyped(name, `This destroys ${rec.file} and everything the guest stored on it.`, opts.confirm as string | undefined);
  const removed = await removeRecorded(runner, rec, recordPath, Boolean(opts.kubectl));
  reporter.result({ok: true, name, removed}, `trusted storage ${name} removed: ${removed.join(', ') || 'nothing of it was left'}`);
  return 0;
}
