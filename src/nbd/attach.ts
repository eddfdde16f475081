// Attach an image to a free /dev/nbdN, the way upstream's create-cache.sh does not:
//   - free means no pid file, size 0, no holders, not mounted (sysfs), never `qemu-nbd --list`;
//   - the wizard lock is held from choosing the device until the kernel shows the connection, so
//     two wizards never pick the same device;
//   - an intent record is written BEFORE connecting, so a crash leaves a trail for `nbd recover`;
//   - "Failed to set NBD socket" (the kernel's EBUSY: someone else got there first) moves on to
//     the next device;
//   - after connecting, wait until sysfs shows our qemu-nbd, our image and the full size.
// No --fork: with --connect, qemu-nbd daemonises by itself (unless -v) and the parent exits.
import {constants} from 'node:fs';
import {lstat, mkdir, open, rm} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {registerCleanup} from '../cleanup.js';
import {InUseError, StepError, UsageError} from '../errors.js';
import {hostRoots, type Roots} from '../host/roots.js';
import {stateDir} from '../paths.js';
import type {Runner} from '../runner/runner.js';
import {disconnect, detachDevice} from './detach.js';
import {listDevices, readDevice, type NbdDevice} from './devices.js';
import {probeImage} from './lock.js';
import {exists, readInt} from './proc.js';
import {NotOurs, waitReady} from './ready.js';
import {dropRecord, putRecord, updateRecord, withNbdLock} from './state.js';

export interface AttachOptions {
  /** Expected size in bytes; read from `qemu-img info` when not given. */
  virtualSize?: number;
  format?: 'qcow2' | 'raw';
  roots?: Roots;
  signal?: AbortSignal;
  readyTimeoutMs?: number;
  pollMs?: number;
  /** How long to wait for another wizard's lock. */
  lockWaitMs?: number;
}

export interface Attachment {
  device: string;
  /** The device node to run tools on: /dev/nbdN. */
  path: string;
  /** The qemu-nbd daemon. */
  pid: number;
  image: string;
  detach(): Promise<void>;
  /** Leave it attached when this process ends (`tdx-wizard nbd attach`). */
  keep(): Promise<void>;
}

export async function attachImage(runner: Runner, imagePath: string, options: AttachOptions = {}): Promise<Attachment> {
  const roots = options.roots ?? hostRoots();
  const format = options.format ?? 'qcow2';
  const image = resolve(imagePath);
  // A dry run plans the commands even where the image does not exist yet and nbd is not loaded.
  if (runner.dryRun) return planAttach(runner, image, format, roots, options.signal);
  const st = await lstat(image).catch(() => undefined);
  if (!st?.isFile()) {
    throw new UsageError(`${image} ${st?.isSymbolicLink() ? 'is a symbolic link' : st ? 'is not a regular file' : 'does not exist'}`, 'give the path of the volume file itself');
  }
  const probe = await probeImage(runner, image, {format, signal: options.signal});
  if (probe.inUse) throw new InUseError(`${image} is in use: ${probe.detail}`, 'stop the VM first (./run-tdx.sh --clean), or find the device that serves it: tdx-wizard nbd list');
  const virtualSize = options.virtualSize ?? probe.virtualSize;
  if (!(await exists(join(roots.sys, 'module', 'nbd'))) && !(await listDevices(roots)).length) {
    throw new StepError('the nbd kernel module is not loaded, so there is no /dev/nbdN', 'attach', [], 'tdx-wizard nbd load   (runs modprobe nbd max_part=8)');
  }
  if (virtualSize === undefined) throw new StepError(`could not read the virtual size of ${image}`, 'attach');

  return withNbdLock(roots, `attach ${image}`, async () => {
    const skipped: string[] = [];
    for (const dev of await listDevices(roots)) {
      if (dev.state !== 'free') {
        skipped.push(`${dev.name} ${dev.state}`);
        continue;
      }
      const busy = await exclusiveProbe(dev.path);
      if (busy) {
        skipped.push(`${dev.name} ${busy}`);
        continue;
      }
      const attached = await connectTo(runner, dev, image, format, virtualSize, roots, options);
      if (attached) return attached;
      skipped.push(`${dev.name} busy (Failed to set NBD socket)`);
    }
    throw new StepError(
      `no free NBD device${skipped.length ? `: ${skipped.join(', ')}` : ''}`,
      'attach',
      [],
      'tdx-wizard nbd list shows what holds them; tdx-wizard nbd recover cleans up what an earlier run left',
    );
  }, {waitMs: options.lockWaitMs});
}

/** Dry run: record the commands a real attach and detach would run, on the first free device. */
async function planAttach(runner: Runner, image: string, format: string, roots: Roots, signal?: AbortSignal): Promise<Attachment> {
  const devices = await listDevices(roots);
  const placeholder = {name: 'nbdN', path: '/dev/nbdN', state: 'free'} as NbdDevice; // chosen at run time
  const dev = devices.find((d) => d.state === 'free') ?? placeholder;
  await connectCommand(runner, dev, image, format, signal);
  const detach = async () => void (await disconnect(runner, dev, roots, {}));
  return {device: dev.name, path: dev.path, pid: 0, image, detach, keep: async () => undefined};
}

/** A momentary O_EXCL open: fails with EBUSY while anything holds the device exclusively. */
async function exclusiveProbe(path: string): Promise<string | undefined> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_EXCL);
    await handle.close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'has no device node yet' : `cannot be opened exclusively (${code})`;
  }
}

function connectCommand(runner: Runner, dev: NbdDevice, image: string, format: string, signal?: AbortSignal) {
  const pidFile = join(stateDir(), `${dev.name}.pid`);
  return runner.run(
    {cmd: 'qemu-nbd', args: [`--connect=${dev.path}`, `--format=${format}`, `--pid-file=${pidFile}`, '--', image], title: `Attach ${image.split('/').pop()} to /dev/${dev.name}`, check: false, noForceKill: true},
    {signal},
  );
}

/** Resolves to the attachment, or undefined when the kernel said the device is busy. */
async function connectTo(runner: Runner, dev: NbdDevice, image: string, format: string, virtualSize: number, roots: Roots, options: AttachOptions): Promise<Attachment | undefined> {
  const pidFile = join(stateDir(), `${dev.name}.pid`);
  await mkdir(stateDir(), {recursive: true, mode: 0o700});
  await rm(pidFile, {force: true}); // an old pid file would name somebody else's process
  await putRecord({device: dev.name, image, format, pidFile, ownerPid: process.pid, phase: 'connecting', since: new Date().toISOString()});
  // A connect that fails or is cancelled forgets its intent record; a stop signal meanwhile makes the
  // exit wait for that (else the record of a device never connected would outlive us).
  const connecting = (async () => {
    const r = await connectCommand(runner, dev, image, format, options.signal).catch(async (error: unknown) => {
      // Stopped while qemu-nbd --connect ran: if it got as far as writing its pid file, a daemon of
      // ours may hold the device; it is disconnected as after a connect that never became ready.
      if (await readInt(pidFile)) await undoConnect(runner, dev.name, pidFile, roots, error);
      else await dropRecord(dev.name);
      throw error;
    });
    if (r.exitCode !== 0) await dropRecord(dev.name);
    return r;
  })();
  const unregisterConnecting = registerCleanup(`connect /dev/${dev.name}`, () => connecting.then(() => undefined, () => undefined));
  const result = await connecting.finally(unregisterConnecting);
  if (result.exitCode !== 0) {
    if (result.tail.some((l) => /Failed to set NBD socket|Device or resource busy/.test(l))) return undefined;
    throw new StepError(`qemu-nbd could not attach ${image} to /dev/${dev.name} (exit code ${result.exitCode})`, 'connect', result.tail);
  }

  let detached = false;
  // One detach, whoever asks (the flow, or the cleanup after Ctrl-C while the flow detaches): a
  // second caller waits for the detach under way instead of returning before the device is free.
  let detaching: Promise<void> | undefined;
  const detach = () => {
    if (detached && !detaching) return Promise.resolve();
    detached = true;
    return (detaching ??= (async () => {
      try {
        // No signal: detaching is the cleanup, and must not be cancelled by what cancelled the work.
        await detachDevice(runner, dev.name, {roots});
      } finally {
        unregister(); // only now: a stop signal meanwhile makes the exit wait for this same detach
      }
    })());
  };
  // From here a qemu-nbd daemon may exist: however this process ends, it gets detached.
  const unregister = registerCleanup(`detach /dev/${dev.name}`, detach);
  let pid: number;
  try {
    pid = await waitReady({roots, name: dev.name, image, pidFile, virtualSize, timeoutMs: options.readyTimeoutMs ?? 15_000, pollMs: options.pollMs ?? 75, signal: options.signal});
  } catch (error) {
    detached = true;
    if (error instanceof NotOurs) {
      unregister();
      await dropRecord(dev.name); // the kernel says it is someone else's: not ours to touch
      return undefined;
    }
    // Stopped while waiting (Ctrl-C) or timed out: the cleanup registered above now waits for this.
    detaching = undoConnect(runner, dev.name, pidFile, roots, error).finally(unregister);
    await detaching;
    throw error;
  }
  await updateRecord(dev.name, {phase: 'attached', pid});
  return {
    device: dev.name,
    path: dev.path,
    pid,
    image,
    detach,
    keep: async () => {
      detached = true;
      unregister();
      await withNbdLock(roots, `keep ${dev.name}`, () => updateRecord(dev.name, {kept: true}));
    },
  };
}

/** A connect that never became ready: disconnect our own daemon gracefully, or leave the record for recovery. */
async function undoConnect(runner: Runner, name: string, pidFile: string, roots: Roots, cause: unknown): Promise<void> {
  const dev = await readDevice(roots, name);
  if (!dev) return dropRecord(name);
  try {
    await disconnect(runner, dev, roots, {serverPid: await readInt(pidFile)});
    await dropRecord(name);
  } catch (error) {
    if (cause instanceof Error) cause.message += `; detaching it again failed too (${(error as Error).message}): run tdx-wizard nbd recover`;
  }
}
