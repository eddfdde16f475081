// After `qemu-nbd --connect` exits 0 the device is NOT ready yet: the parent exits once the daemon
// has handed the socket to the kernel, and the kernel sets the size and creates the sysfs pid file
// only later, inside NBD_DO_IT. A fixed `sleep 1` (upstream create-cache.sh) is a race on a slow
// host; mkfs then sees a zero-size device. So: poll until the kernel shows our connection.
import {join} from 'node:path';
import {rootSignal} from '../cleanup.js';
import {Cancelled, StepError} from '../errors.js';
import type {Roots} from '../host/roots.js';
import {processAlive, processArgv, readInt, servedImage, sleep, threadGroup} from './proc.js';

export interface ReadyWait {
  roots: Roots;
  name: string;
  image: string;
  pidFile: string;
  virtualSize: number;
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
}

/** Thrown when the device turned out to be connected by someone else: it must be left alone. */
export class NotOurs extends StepError {}

/** Resolves to the qemu-nbd daemon's pid once sysfs shows the pid, our image and the full size. */
export async function waitReady(w: ReadyWait): Promise<number> {
  const dir = join(w.roots.sys, 'block', w.name);
  const deadline = Date.now() + w.timeoutMs;
  let seen = 'no pid file in sysfs yet';
  for (;;) {
    const daemon = await readInt(w.pidFile);
    if (daemon !== undefined && !(await processAlive(w.roots, daemon))) {
      throw new StepError(`qemu-nbd (pid ${daemon}) exited right after connecting /dev/${w.name}`, 'connect', [], `look at the kernel log: dmesg | grep ${w.name}; then check the image: qemu-img check -f qcow2 ${w.image}`);
    }
    const pid = await readInt(join(dir, 'pid'));
    const sectors = (await readInt(join(dir, 'size'))) ?? 0;
    if (pid !== undefined && (await processAlive(w.roots, pid))) {
      const served = servedImage((await processArgv(w.roots, pid)) ?? []);
      const group = (await threadGroup(w.roots, pid)) ?? pid;
      if (served !== w.image || (daemon !== undefined && group !== daemon && pid !== daemon)) {
        throw new NotOurs(`/dev/${w.name} was connected by another process (pid ${pid}${served ? `, serving ${served}` : ''}) at the same time`, 'connect');
      }
      if (sectors * 512 === w.virtualSize && daemon !== undefined) return daemon;
      seen = `pid ${pid} serves our image but the size is ${sectors * 512} bytes, expected ${w.virtualSize}`;
    } else if (pid !== undefined) {
      seen = `sysfs names pid ${pid}, which is not running`;
    } else if (sectors > 0) {
      seen = `size ${sectors * 512} bytes but no pid file yet`;
    }
    if (w.signal?.aborted || rootSignal.aborted) throw new Cancelled(`stopped waiting for /dev/${w.name}`);
    if (Date.now() >= deadline) {
      throw new StepError(
        `/dev/${w.name} did not become ready within ${w.timeoutMs / 1000} s after qemu-nbd --connect returned: ${seen}`,
        'connect',
        [],
        `look at the kernel log (dmesg | grep ${w.name}); tdx-wizard nbd list shows the device; tdx-wizard nbd recover cleans up`,
      );
    }
    await sleep(w.pollMs);
  }
}
