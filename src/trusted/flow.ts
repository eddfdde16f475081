// Trusted storage for a confidential container, made as the wizard makes volumes: the backing file
// reserved (O_EXCL, 0600) and allocated with fallocate (no dd), a loop device for it, a systemd
// unit that attaches the same device at every boot (so the PersistentVolume's path stays true), and
// the manifests. The record of what is made (what teardown removes, and nothing else) is written
// first, as an intent naming every path, and again once the loop device is known: a run killed at
// any step leaves nothing teardown cannot find. Each step has its undo: a failure or a stop that
// lets cleanup run leaves nothing behind.
import {closeSync, constants, existsSync, fstatSync, lstatSync, openSync, renameSync, rmSync, writeSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import type {Flow, FlowStep} from '../flow-runner.js';
import {StepError} from '../errors.js';
import {manifestsYaml, type TrustedInput} from './manifests.js';
import {loopsOf} from './teardown.js';

export interface TrustedJob {
  input: Omit<TrustedInput, 'device'>;
  file: string;
  unitDir: string;
  /** systemctl --root for a unit directory that is not the running system's (tests, images). */
  systemdRoot?: string;
  manifestPath: string;
  recordPath: string;
  device?: string;
  reserved?: {dev: number; ino: number};
}

export const unitName = (name: string) => `tdx-wizard-trusted-${name}.service`;

/** Writes a new file (never over one), mode `mode`. */
function writeNew(path: string, text: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** What teardown reads: every path create may make, whether or not it got that far. */
export interface TrustedRecord {
  name: string;
  namespace: string;
  file: string;
  /** The loop device, once attached; a run killed before then may still have attached one (teardown also looks by backing file). */
  device: string | null;
  unit: string;
  systemdRoot: string | null;
  manifests: string;
  storageClass: string;
  ownClass: boolean;
  /** The create that wrote it (teardown refuses while it still runs). */
  pid: number;
}

export const recordTmp = (recordPath: string) => `${recordPath}.tmp`;

/** The record, replaced whole (a temporary file renamed over it): never half-written. */
function writeRecord(job: TrustedJob): void {
  const data: TrustedRecord = {name: job.input.name, namespace: job.input.namespace, file: job.file, device: job.device ?? null, unit: join(job.unitDir, unitName(job.input.name)), systemdRoot: job.systemdRoot ?? null, manifests: job.manifestPath, storageClass: job.input.storageClass, ownClass: job.input.ownClass, pid: process.pid};
  const tmp = recordTmp(job.recordPath);
  rmSync(tmp, {force: true});
  writeNew(tmp, `${JSON.stringify(data, null, 2)}\n`, 0o600);
  renameSync(tmp, job.recordPath);
}

const systemctl = (job: TrustedJob) => (job.systemdRoot ? ['--root', job.systemdRoot] : []);

const record: FlowStep<TrustedJob> = {
  id: 'record',
  title: 'Record what will be made (for teardown)',
  changesDisk: true,
  async run(job, env) {
    await env.runner.act(`Write ${job.recordPath}`, ['install', '-m', '0600', '/dev/stdin', job.recordPath], () => writeRecord(job));
  },
  async undo(job, env) {
    // Runs last: when an undo before it could not remove its part, the record stays, so teardown still finds it.
    const left = [...(existsSync(job.file) ? [job.file] : []), ...loopsOf(job.file), ...(existsSync(join(job.unitDir, unitName(job.input.name))) ? [join(job.unitDir, unitName(job.input.name))] : []), ...(existsSync(job.manifestPath) ? [job.manifestPath] : [])];
    if (left.length) return env.warn(`${left.join(', ')} could not be undone: the record ${job.recordPath} stays`, `tdx-wizard trusted-storage teardown ${job.input.name} --dir ${dirname(job.recordPath)}`);
    for (const path of [recordTmp(job.recordPath), job.recordPath]) await env.runner.act(`Remove ${path}`, ['rm', '-f', '--', path], () => rm(path, {force: true}));
  },
};

const file: FlowStep<TrustedJob> = {
  id: 'file',
  title: 'Reserve and allocate the backing file',
  changesDisk: true,
  async run(job, env) {
    await env.runner.act(`Reserve ${job.file}`, ['sh', '-c', 'set -C; : > "$1"; chmod 600 "$1"', 'reserve', job.file], () => {
      const fd = openSync(job.file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      const st = fstatSync(fd);
      job.reserved = {dev: st.dev, ino: st.ino};
      closeSync(fd);
    });
    // Allocated, not written: fallocate takes a moment for 100 GB where dd writes every byte.
    await env.runner.run({cmd: 'fallocate', args: ['-l', String(job.input.sizeBytes), '--', job.file], title: `Allocate ${job.input.sizeBytes} bytes (fallocate)`});
  },
  async undo(job, env) {
    const st = lstatSync(job.file, {throwIfNoEntry: false});
    if (st && job.reserved && st.dev === job.reserved.dev && st.ino === job.reserved.ino) await env.runner.act(`Remove ${job.file}`, ['rm', '-f', '--', job.file], () => rm(job.file, {force: true}));
  },
};

const loop: FlowStep<TrustedJob> = {
  id: 'loop',
  title: 'Attach it to a loop device',
  changesDisk: true,
  async run(job, env) {
    const r = await env.runner.run({cmd: 'losetup', args: ['--find', '--show', '--', job.file], title: `losetup --find --show ${job.file}`, capture: true});
    // A dry run attaches nothing: the plan names the device as losetup will choose it.
    job.device = r.stdout.trim() || (env.runner.dryRun ? '/dev/loopN' : undefined);
    if (!job.device?.startsWith('/dev/loop')) throw new StepError(`losetup named no loop device for ${job.file}`, 'loop', r.tail);
    await env.runner.act(`Record ${job.device} in ${job.recordPath}`, ['install', '-m', '0600', '/dev/stdin', job.recordPath], () => writeRecord(job));
  },
  async verify(job) {
    return `${job.device} holds ${job.file}`;
  },
  async undo(job, env) {
    if (job.device) await env.runner.run({cmd: 'losetup', args: ['-d', job.device], title: `losetup -d ${job.device}`, check: false, cleanup: true});
  },
};

const unit: FlowStep<TrustedJob> = {
  id: 'unit',
  title: 'Keep the same loop device across reboots (systemd unit)',
  changesDisk: true,
  async run(job, env) {
    const path = join(job.unitDir, unitName(job.input.name));
    const text = [
      '[Unit]',
      `Description=tdx-wizard trusted storage ${job.input.name}: ${job.file} on ${job.device} (the PersistentVolume ${job.input.name}-pv names it)`,
      'DefaultDependencies=no',
      'After=local-fs.target',
      'Before=kubelet.service',
      '',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      `ExecStart=/sbin/losetup ${job.device} ${job.file}`,
      `ExecStop=/sbin/losetup -d ${job.device}`,
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    await env.runner.act(`Write ${path}`, ['install', '-m', '0644', '/dev/stdin', path], () => writeNew(path, text, 0o644));
    await env.runner.run({cmd: 'systemctl', args: [...systemctl(job), 'enable', unitName(job.input.name)], title: `systemctl enable ${unitName(job.input.name)}`});
  },
  async undo(job, env) {
    const path = join(job.unitDir, unitName(job.input.name));
    await env.runner.run({cmd: 'systemctl', args: [...systemctl(job), 'disable', unitName(job.input.name)], title: `systemctl disable ${unitName(job.input.name)}`, check: false, cleanup: true});
    await env.runner.act(`Remove ${path}`, ['rm', '-f', '--', path], () => rm(path, {force: true}));
  },
};

const manifests: FlowStep<TrustedJob> = {
  id: 'manifests',
  title: 'Write the StorageClass, PersistentVolume, claim and example pod',
  changesDisk: true,
  async run(job, env) {
    const yaml = manifestsYaml({...job.input, device: job.device!});
    await env.runner.act(`Write ${job.manifestPath}`, ['install', '-m', '0644', '/dev/stdin', job.manifestPath], () => writeNew(job.manifestPath, yaml, 0o644));
  },
  async undo(job, env) {
    await env.runner.act(`Remove ${job.manifestPath}`, ['rm', '-f', '--', job.manifestPath], () => rm(job.manifestPath, {force: true}));
  },
};

export function trustedFlow(job: TrustedJob): Flow<TrustedJob> {
  return {id: 'trusted-storage', title: `Trusted storage ${job.input.name} on ${job.input.node}`, steps: [record, file, loop, unit, manifests]};
}
