// Detach an NBD device without losing data:
//   refuse while it is mounted or held (the filesystem would see I/O errors);
//   flush the kernel's cache to qemu-nbd (`blockdev --flushbufs`);
//   `qemu-nbd --disconnect`, whose exit code and "disconnected" message prove nothing (it ignores
//   every ioctl error), so then wait until sysfs shows the device free AND the qemu-nbd process has
//   exited (it writes its qcow2 metadata and releases the image lock only as it exits).
// qemu-nbd is never killed with SIGKILL: acknowledged writes still in its cache would be lost.
import {join} from 'node:path';
import {Cancelled, StepError} from '../errors.js';
import {hostRoots, type Roots} from '../host/roots.js';
import type {Runner} from '../runner/runner.js';
import {deviceName, readDevice, type NbdDevice} from './devices.js';
import {processAlive, readText, sleep, threadGroup} from './proc.js';
import {dropRecord, readRecords, updateRecord, withNbdLock} from './state.js';

export interface DetachOptions {
  roots?: Roots;
  signal?: AbortSignal;
  /** How long to wait for sysfs and the qemu-nbd process after the disconnect. Default 15 s. */
  timeoutMs?: number;
  pollMs?: number;
}

export interface DetachResult {
  device: string;
  alreadyFree: boolean;
  /** The qemu-nbd process that was waited for. */
  serverPid?: number;
  notes: string[];
}

export async function detachDevice(runner: Runner, device: string, options: DetachOptions = {}): Promise<DetachResult> {
  const roots = options.roots ?? hostRoots();
  const name = deviceName(device);
  const dev = await readDevice(roots, name);
  if (!dev) throw new StepError(`/dev/${name} does not exist (no ${join(roots.sys, 'block', name)})`, 'detach', [], 'tdx-wizard nbd list shows the devices there are');
  const record = (await readRecords()).find((r) => r.device === name);
  if (dev.state === 'free') {
    if (record) await withNbdLock(roots, `forget ${name}`, () => dropRecord(name));
    return {device: name, alreadyFree: true, notes: [`/dev/${name} is already free`]};
  }
  refuseWhileUsed(dev, roots);
  // Another wizard attached it and is still working on it (formatting, relabelling): not ours to cut off.
  if (record && record.ownerPid !== process.pid && !record.kept && (await processAlive(roots, record.ownerPid))) {
    throw new StepError(
      `refusing to detach /dev/${name}: tdx-wizard pid ${record.ownerPid} attached ${record.image} to it (${record.since}) and is still using it`,
      'detach',
      [],
      `wait for that run to finish (it detaches the device itself), or stop it with kill -TERM ${record.ownerPid}`,
    );
  }
  if (record) await withNbdLock(roots, `detach ${name}`, () => updateRecord(name, {phase: 'detaching'}));
  const serverPid = record?.pid ?? (dev.pid !== undefined ? ((await threadGroup(roots, dev.pid)) ?? dev.pid) : undefined);
  const notes = await disconnect(runner, dev, roots, {...options, serverPid});
  if (record) await withNbdLock(roots, `forget ${name}`, () => dropRecord(name));
  return {device: name, alreadyFree: false, serverPid, notes};
}

function refuseWhileUsed(dev: NbdDevice, roots: Roots): void {
  const mount = dev.mounts[0];
  if (mount) {
    throw new StepError(`refusing to detach /dev/${dev.name}: ${mount.source} is mounted on ${mount.target}; disconnecting would give that filesystem I/O errors`, 'detach', [], `umount ${mount.target}`);
  }
  if (dev.holders.length) {
    const holder = dev.holders[0]!;
    throw new StepError(
      `refusing to detach /dev/${dev.name}: it is held by ${dev.holders.join(', ')} (${join(roots.sys, 'block', dev.name, 'holders')})`,
      'detach',
      [],
      holder.startsWith('dm-') ? `close the mapping first: dmsetup info /dev/${holder}, then cryptsetup close NAME or dmsetup remove NAME` : `release ${holder} first`,
    );
  }
}

/** Flush, disconnect, and wait until the kernel and the process agree the device is free. */
export async function disconnect(runner: Runner, dev: NbdDevice, roots: Roots, options: DetachOptions & {serverPid?: number}): Promise<string[]> {
  const notes: string[] = [];
  const flush = await runner.run({cmd: 'blockdev', args: ['--flushbufs', dev.path], title: `Flush /dev/${dev.name} to qemu-nbd`, check: false, cleanup: true}, {signal: options.signal});
  if (flush.exitCode !== 0) {
    // With a live server a failed flush means cached writes could still be dropped: stop here.
    if (dev.state === 'connected') {
      throw new StepError(`could not flush /dev/${dev.name} (exit code ${flush.exitCode}); not disconnecting, so no cached write is dropped`, 'flush', flush.tail, `look at the kernel log (dmesg | grep ${dev.name}), then retry: tdx-wizard nbd detach /dev/${dev.name}`);
    }
    notes.push(`flush failed (its server is gone): ${flush.tail.at(-1) ?? `exit code ${flush.exitCode}`}`);
  }
  const said = await runner.run(
    {cmd: 'qemu-nbd', args: ['--disconnect', dev.path], title: `Disconnect /dev/${dev.name}`, check: false, capture: true, noForceKill: true, cleanup: true},
    {signal: options.signal},
  );
  if (runner.dryRun) return notes;

  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = await readText(join(roots.sys, 'block', dev.name, 'pid'));
    const sectors = Number((await readText(join(roots.sys, 'block', dev.name, 'size'))) ?? 0);
    const serverAlive = options.serverPid !== undefined && (await processAlive(roots, options.serverPid));
    if (pid === undefined && sectors === 0 && !serverAlive) return notes;
    // Not rootSignal: after Ctrl-C this wait is the cleanup itself, and must still confirm.
    if (options.signal?.aborted) throw new Cancelled(`stopped waiting for /dev/${dev.name} to disconnect`);
    if (Date.now() >= deadline) {
      const what = `qemu-nbd --disconnect exited ${said.exitCode}${said.stdout.trim() ? ` saying "${said.stdout.trim()}"` : ''}`;
      if (pid !== undefined || sectors > 0) {
        throw new StepError(
          `${what}, but after ${timeoutMs / 1000} s /dev/${dev.name} is still connected (pid ${pid ?? 'none'}, size ${sectors * 512} bytes)`,
          'disconnect',
          said.tail,
          `find what still holds it: tdx-wizard nbd list; fuser -vm ${dev.path}; then tdx-wizard nbd detach /dev/${dev.name} again. Never kill -9 qemu-nbd: it would lose acknowledged writes`,
        );
      }
      throw new StepError(
        `/dev/${dev.name} is free but qemu-nbd (pid ${options.serverPid}) has not exited after ${timeoutMs / 1000} s; it may still be writing the image`,
        'disconnect',
        said.tail,
        `wait for it to exit (ps -p ${options.serverPid}); do not kill -9 it`,
      );
    }
    await sleep(options.pollMs ?? 75);
  }
}
