// create's inputs, checked before anything is made (shared by the CLI and the wizard): Kubernetes
// names, the size, the directories, nothing at the names it would use, free space for the whole
// size, and objects that pass the schemas. Every refusal is a UsageError with its fix.
import {existsSync, statSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {UsageError} from '../errors.js';
import {freeBytes} from '../volume/space.js';
import {formatBytes, parseSize} from '../volume/size.js';
import {recordTmp, unitName, type TrustedJob} from './flow.js';
import {trustedObjects} from './manifests.js';
import {DNS_LABEL} from './names.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MIN_BYTES = 64 * 2 ** 20;

export interface TrustedRequest {
  name: string;
  size: string;
  dir: string;
  node: string;
  namespace: string;
  runtimeClass: string;
  /** An existing block storage class; undefined: make one. */
  storageClass?: string;
  image: string;
  unitDir: string;
  systemdRoot?: string;
}

export function checkName(what: string, value: string, pattern: RegExp, max: number, fix: string): void {
  if (value.length > max || !pattern.test(value)) throw new UsageError(`${what} "${value}" is not a valid Kubernetes name: lower-case letters, digits and "-"${pattern === DNS_SUBDOMAIN ? ' (and ".")' : ''}, at most ${max} characters, a letter or digit at each end`, fix);
}

export async function planTrusted(r: TrustedRequest): Promise<TrustedJob> {
  const {name} = r;
  checkName('the name', name, DNS_LABEL, 55, 'e.g. trusted-store-1 (the example pod adds "-example")');
  checkName('the namespace', r.namespace, DNS_LABEL, 63, 'e.g. default');
  checkName('the node name', r.node, DNS_SUBDOMAIN, 253, 'give the node name as kubectl get nodes shows it: --node NAME');
  checkName('the runtime class', r.runtimeClass, DNS_SUBDOMAIN, 253, 'kata-qemu-tdx or kata-qemu, as kubectl get runtimeclass shows');
  const storageClass = r.storageClass ?? `${name}-local`;
  checkName('the storage class', storageClass, DNS_SUBDOMAIN, 253, 'e.g. open-local-lvm, or leave it out to make one');
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(r.size);
  } catch (error) {
    throw new UsageError(`--size ${r.size}: ${(error as Error).message}`, 'e.g. --size 100G');
  }
  if (sizeBytes < MIN_BYTES) throw new UsageError(`--size ${r.size} is below ${formatBytes(MIN_BYTES)}: the guest's dm-integrity and filesystem need room`, 'e.g. --size 100G');
  const dir = resolve(r.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, 'create it first, or give another --dir');
  const unitDir = resolve(r.unitDir);
  if (!existsSync(unitDir)) throw new UsageError(`the unit directory ${unitDir} does not exist`, 'give --unit-dir (the running system: /etc/systemd/system)');
  const file = join(dir, `${name}.img`);
  const recordPath = join(dir, `${name}.trusted.json`);
  const manifestPath = join(dir, `${name}.k8s.yaml`);
  const taken = [file, manifestPath, recordPath, recordTmp(recordPath), join(unitDir, unitName(name))].filter((p) => existsSync(p));
  if (taken.length) throw new UsageError(`${taken.join(', ')} exist${taken.length === 1 ? 's' : ''} already: trusted storage ${name} was made before, or the name is taken`, `choose another name, or remove the old one: tdx-wizard trusted-storage teardown ${name} --dir ${dir}`);
  // Allocated, not thin: the whole size must fit now.
  const free = await freeBytes(dir);
  if (free !== undefined && free < sizeBytes) throw new UsageError(`${dir} has ${formatBytes(free)} free; the device needs ${formatBytes(sizeBytes)} allocated`, 'free space there, choose another --dir, or a smaller --size');
  const input = {name, namespace: r.namespace, node: r.node, sizeBytes, storageClass, ownClass: r.storageClass === undefined, runtimeClass: r.runtimeClass, image: r.image};
  trustedObjects({...input, device: '/dev/loop0'}); // the objects must validate before anything is made
  return {input, file, unitDir, ...(r.systemdRoot ? {systemdRoot: resolve(r.systemdRoot)} : {}), manifestPath, recordPath};
}
