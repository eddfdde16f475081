// Attach an image as a plain file through a qemu-storage-daemon FUSE export: no kernel NBD module
// needed. e2label, e2fsck, resize2fs and cryptsetup work on that file as on a block device. The
// daemon is always stopped gracefully (SIGTERM: it flushes the qcow2 metadata and exits); never
// SIGKILL, which would lose acknowledged writes.
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {registerCleanup} from '../cleanup.js';
import {StepError} from '../errors.js';
import {stateDir} from '../paths.js';
import type {Runner} from '../runner/runner.js';

export interface Attached {
  /** The path to run tools on (a FUSE file, or /dev/nbdN). */
  path: string;
  via: 'fuse' | 'nbd';
  detach(): Promise<void>;
}

const STOP_TIMEOUT_MS = 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function mounted(path: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text.split('\n').some((line) => line.split(' ')[4] === path);
}

export async function attachFuse(runner: Runner, image: string, options: {format: 'qcow2' | 'raw'; writable: boolean}): Promise<Attached> {
  const base = join(stateDir(), 'attach');
  await mkdir(base, {recursive: true, mode: 0o700});
  const dir = runner.dryRun ? join(base, 'fuse-XXXXXX') : await mkdtemp(join(base, 'fuse-'));
  const mountpoint = join(dir, 'disk');
  const pidFile = join(dir, 'daemon.pid');
  if (!runner.dryRun) await writeFile(mountpoint, '', {mode: 0o600});

  await runner.run({
    cmd: 'qemu-storage-daemon',
    args: [
      '--blockdev', `driver=file,node-name=file0,filename=${image.replace(/,/g, ',,')}`,
      '--blockdev', `driver=${options.format},node-name=disk0,file=file0`,
      '--export', `type=fuse,id=exp0,node-name=disk0,mountpoint=${mountpoint.replace(/,/g, ',,')},writable=${options.writable ? 'on' : 'off'}`,
      '--pidfile', pidFile,
      '--daemonize',
    ],
    title: `Attach ${image.split('/').pop()} through FUSE`,
    noForceKill: true,
  }).catch(async (error: unknown) => {
    await rm(dir, {recursive: true, force: true}).catch(() => undefined);
    if (error instanceof StepError && error.output.some((l) => /write" lock|another process using the image/.test(l))) {
      throw new StepError(`${image} is in use by another process (a running VM or a connected qemu-nbd)`, 'attach', error.output, 'stop the VM or disconnect the NBD device first: tdx-wizard status, tdx-wizard nbd list');
    }
    throw error;
  });
  const pid = runner.dryRun ? 0 : Number((await readFile(pidFile, 'utf8')).trim());

  let detached = false;
  const detach = async () => {
    if (detached) return;
    detached = true;
    unregister();
    await runner.act(`Detach ${image.split('/').pop()} (stop qemu-storage-daemon gracefully)`, ['kill', '-TERM', String(pid || '$(cat daemon.pid)')], async () => {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while ((alive(pid) || (await mounted(mountpoint))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) throw new StepError(`qemu-storage-daemon (pid ${pid}) did not exit after ${STOP_TIMEOUT_MS / 1000} s; it was left running so no data is lost`, 'detach', [], `wait, then: kill -TERM ${pid}`);
      await rm(dir, {recursive: true, force: true});
    });
  };
  const unregister = registerCleanup(`detach ${mountpoint}`, detach);
  if (!runner.dryRun && !existsSync(mountpoint)) throw new StepError(`the FUSE export of ${image} did not appear`, 'attach');
  return {path: mountpoint, via: 'fuse', detach};
}
