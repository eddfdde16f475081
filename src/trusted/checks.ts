// What trusted storage needs, read-only, each finding with its evidence and fix (the host checks'
// shape, src/host/check-types.ts): on the host, losetup with a free loop device and systemd; on the
// cluster side, kubectl, its context, the cluster answering, the runtime class and the node in it;
// and containerd's guest-pull configuration (./containerd.ts). Every kubectl call goes through the
// runner. When no cluster answers, the cluster findings are warnings.
import {existsSync} from 'node:fs';
import {check, type Check} from '../host/check-types.js';
import {locate} from '../host/tool-checks.js';
import {UsageError} from '../errors.js';
import {PACKAGE_OF, type Runner, type RunResult} from '../runner/runner.js';
import {CLUSTER_CHECKS, HOST_CHECKS} from './check-ids.js';
import {containerdChecks} from './containerd.js';
import {locateContainerdConfig} from './containerd-config.js';

export interface TrustedCheckOptions {
  runtimeClass: string;
  /** The node the volume is pinned to; not looked up when undefined. */
  node?: string;
  /** containerd's configuration; undefined: found (./containerd-config.ts). */
  containerdConfig?: string;
  signal?: AbortSignal;
}


const TIMEOUT = ['--request-timeout=5s'];

/** What a command said: on failure its stderr (kubectl version prints the client's JSON on stdout even then), else its output. */
function said(r: RunResult): string {
  const err = r.run.lines.last().filter((l) => l.stream === 'err').map((l) => l.text);
  const lines = r.exitCode !== 0 && err.length ? err : r.tail.length ? r.tail : [r.stdout.trim()];
  return lines.filter(Boolean).join(' ').slice(0, 300) || `exit code ${r.exitCode}, no output`;
}

async function hostChecks(runner: Runner, signal?: AbortSignal): Promise<Check[]> {
  const out: Check[] = [];
  for (const [tool, why] of [['losetup', 'attaches the backing file as a block device'], ['systemctl', 'enables the unit that re-attaches it at boot']] as const) {
    const found = await locate(tool);
    const pkg = tool === 'systemctl' ? 'systemd' : PACKAGE_OF[tool]!;
    out.push(
      found
        ? check(`trusted:${tool}`, `${tool} (${why})`, 'ok', found.path, [{source: 'found at', said: found.path}])
        : check(`trusted:${tool}`, `${tool} (${why})`, 'fail', `${tool} is not installed (Debian/Ubuntu package ${pkg})`, [{source: 'PATH and the sbin directories', said: 'not found'}], ['apt-get', 'install', '-y', pkg]),
    );
    if (tool === 'losetup' && found) out.push(await loopFree(runner, signal));
  }
  return out;
}

async function loopFree(runner: Runner, signal?: AbortSignal): Promise<Check> {
  const title = 'a free loop device';
  const r = await runner.run({cmd: 'losetup', args: ['--find'], title: 'losetup --find (the first free loop device)', capture: true, check: false, timeoutMs: 10_000}, {signal});
  const device = r.stdout.trim();
  const evidence = [{source: 'losetup --find', said: said(r)}];
  if (r.exitCode === 0 && device.startsWith('/dev/loop')) return check('trusted:loop-free', title, 'ok', `${device} is free`, evidence);
  if (!existsSync('/sys/module/loop')) return check('trusted:loop-free', title, 'fail', 'no free loop device: the loop module is not loaded', [...evidence, {source: '/sys/module/loop', said: 'absent'}], ['modprobe', 'loop']);
  return check('trusted:loop-free', title, 'fail', `no free loop device (${said(r)})`, evidence, 'losetup -a lists the attached devices: detach one no longer needed (losetup -d /dev/loopN), or allow more: modprobe loop max_loop=64 at the next boot');
}

interface Cluster {
  checks: Check[];
  reachable: boolean;
  handler?: string;
}

async function clusterChecks(runner: Runner, o: TrustedCheckOptions): Promise<Cluster> {
  const kubectl = (args: string[], title: string) => runner.run({cmd: 'kubectl', args, title, capture: true, check: false, timeoutMs: 15_000}, {signal: o.signal});
  const found = await locate('kubectl');
  const unchecked = (id: string, title: string, what: string) => check(id, title, 'warn', `${what} was not checked: no cluster reachable`, [{source: 'kubectl', said: 'no cluster reachable'}], 'check again when kubectl reaches the cluster: tdx-wizard trusted-storage check');
  const later = [unchecked('trusted:runtime-class', `the runtime class ${o.runtimeClass} in the cluster`, `the runtime class ${o.runtimeClass}`), ...(o.node ? [unchecked('trusted:node', `the node ${o.node} in the cluster`, `the node ${o.node}`)] : [])];
  if (!found) {
    return {
      reachable: false,
      checks: [check('trusted:kubectl', 'kubectl (applies the manifests)', 'warn', 'kubectl is not on PATH: the manifests are written, but cannot be applied from here', [{source: 'PATH', said: 'not found'}], 'install kubectl (https://kubernetes.io/docs/tasks/tools/), or apply the manifests from a machine that has it'), ...later],
    };
  }
  const checks = [check('trusted:kubectl', 'kubectl (applies the manifests)', 'ok', found.path, [{source: 'found at', said: found.path}])];
  const ctx = await kubectl(['config', 'current-context'], 'kubectl config current-context');
  checks.push(
    ctx.exitCode === 0 && ctx.stdout.trim()
      ? check('trusted:context', "kubectl's current context", 'ok', ctx.stdout.trim(), [{source: 'kubectl config current-context', said: ctx.stdout.trim()}])
      : check('trusted:context', "kubectl's current context", 'warn', 'kubectl has no current context', [{source: 'kubectl config current-context', said: said(ctx)}], 'kubectl config get-contexts lists them; choose one: kubectl config use-context NAME (or set KUBECONFIG)'),
  );
  const version = await kubectl(['version', '--output=json', ...TIMEOUT], 'kubectl version (does the cluster answer?)');
  let server: string | undefined;
  try {
    server = (JSON.parse(version.stdout) as {serverVersion?: {gitVersion?: string}}).serverVersion?.gitVersion;
  } catch {
    server = undefined;
  }
  if (version.exitCode !== 0 || !server) {
    checks.push(check('trusted:cluster', 'the cluster answers', 'warn', 'the cluster is not reachable: nothing in it was checked, and --apply cannot run', [{source: 'kubectl version --output=json', said: said(version)}], 'kubectl cluster-info says why; check the kubeconfig (KUBECONFIG, ~/.kube/config) and that the API server is up'));
    return {reachable: false, checks: [...checks, ...later]};
  }
  checks.push(check('trusted:cluster', 'the cluster answers', 'ok', `API server ${server}`, [{source: 'kubectl version --output=json', said: `serverVersion ${server}`}]));
  const rc = await kubectl(['get', 'runtimeclass', o.runtimeClass, '-o', 'jsonpath={.handler}', ...TIMEOUT], `kubectl get runtimeclass ${o.runtimeClass}`);
  const handler = rc.exitCode === 0 ? rc.stdout.trim() || o.runtimeClass : undefined;
  checks.push(
    handler
      ? check('trusted:runtime-class', `the runtime class ${o.runtimeClass} in the cluster`, 'ok', `exists, handler ${handler}`, [{source: `kubectl get runtimeclass ${o.runtimeClass}`, said: `handler ${handler}`}])
      : check('trusted:runtime-class', `the runtime class ${o.runtimeClass} in the cluster`, 'fail', `no RuntimeClass ${o.runtimeClass} in the cluster`, [{source: `kubectl get runtimeclass ${o.runtimeClass}`, said: said(rc)}], 'kubectl get runtimeclass lists those there are: give one with --runtime-class, or install Kata Containers with its runtime classes (kata-deploy)'),
  );
  if (o.node) {
    const node = await kubectl(['get', 'node', o.node, '-o', 'name', ...TIMEOUT], `kubectl get node ${o.node}`);
    checks.push(
      node.exitCode === 0
        ? check('trusted:node', `the node ${o.node} in the cluster`, 'ok', node.stdout.trim(), [{source: `kubectl get node ${o.node}`, said: node.stdout.trim()}])
        : check('trusted:node', `the node ${o.node} in the cluster`, 'fail', `no node ${o.node} in the cluster`, [{source: `kubectl get node ${o.node}`, said: said(node)}], 'kubectl get nodes lists the names: give this host\'s with --node NAME'),
    );
  }
  return {reachable: true, checks, handler};
}

export async function trustedChecks(runner: Runner, o: TrustedCheckOptions): Promise<Check[]> {
  const host = await hostChecks(runner, o.signal);
  const cluster = await clusterChecks(runner, o);
  const handler = cluster.handler ?? o.runtimeClass;
  const source = cluster.handler ? `the RuntimeClass ${o.runtimeClass}'s handler in the cluster` : `the runtime class name; the cluster was not asked for its handler`;
  return [...host, ...cluster.checks, ...(await containerdChecks(locateContainerdConfig(o.containerdConfig), handler, source))];
}

/**
 * Before anything is made: a host finding that makes create pointless (no losetup, no free loop
 * device, no systemd) refuses; so do the cluster's when the manifests are to be applied. Returns the
 * rest, that are not ok, as warnings.
 */
export function refuseBlocking(checks: Check[], apply: boolean): Check[] {
  const blocking = checks.filter((c) => c.status !== 'ok' && (HOST_CHECKS.includes(c.id) || (apply && CLUSTER_CHECKS.includes(c.id))));
  if (blocking.length) {
    const host = blocking.filter((c) => HOST_CHECKS.includes(c.id)).map((c) => c.summary);
    const cluster = blocking.filter((c) => !HOST_CHECKS.includes(c.id)).map((c) => c.summary);
    const why = [...host, ...(cluster.length ? [`--apply needs a cluster: ${cluster.join('; ')}`] : [])].join('; ');
    throw new UsageError(`${why}: nothing was made`, [...new Set(blocking.map((c) => c.fix).filter(Boolean))].join('\n') || undefined);
  }
  return checks.filter((c) => c.status !== 'ok');
}
