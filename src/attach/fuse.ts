// Attach an image as a plain file through a qemu-storage-daemon FUSE export: no kernel NBD module
// needed. e2label, e2fsck, resize2fs and cryptsetup work on that file as on a block device. The
// daemon is always stopped gracefully (SIGTERM: it flushes the qcow2 metadata and exits); never
// SIGKILL, which would lose acknowledged writes.
import {existsSync, readFileSync} from 'node:fs';
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {registerCleanup} from '../cleanup.js';
import {InUseError, StepError} from '../errors.js';
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
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An exited process its parent has not reaped yet (a zombie) is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

async function mounted(path: string): Promise<boolean> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text.split('\n').some((line) => line.split(' ')[4] === path);
}

export async function attachFuse(runner: Runner, image: string, options: {format: 'qcow2' | 'raw'; writable: boolean}): Promise<Attached> {
  const base = join(stateDir(), 'attach');
  await mkdir(base, {recursive: true, mode: 0o700});
  // The owner's pid in the name: the next run can tell a leftover of a killed run from a live one.
  const dir = runner.dryRun ? join(base, `fuse-${process.pid}-XXXXXX`) : await mkdtemp(join(base, `fuse-${process.pid}-`));
  const mountpoint = join(dir, 'disk');
  const pidFile = join(dir, 'daemon.pid');
  if (!runner.dryRun) await writeFile(mountpoint, '', {mode: 0o600});

  // Registered before the daemon starts: a stop signal while it starts still removes the directory,
  // and stops a daemon that got as far as writing its pid file.
  let pid = 0;
  let detaching: Promise<void> | undefined;
  const detach = () => (detaching ??= detachOnce());
  // Unregistered only when done: a stop signal meanwhile makes the exit wait for this same detach.
  const detachOnce = async () => {
    try {
      if (!runner.dryRun && !pid) pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
      if (!runner.dryRun && !pid && !(await mounted(mountpoint))) {
        await rm(dir, {recursive: true, force: true}); // the daemon never started: nothing to stop
        return;
      }
      // In a plan the pid is not known yet: the recorded line reads it from the pid file, as a shell would.
      await runner.act(`Detach ${image.split('/').pop()} (stop qemu-storage-daemon gracefully)`, pid ? ['kill', '-TERM', String(pid)] : ['sh', '-c', 'kill -TERM "$(cat "$1")"', 'detach', pidFile], async () => {
        await stopDaemon(runner, pid, mountpoint);
        await rm(dir, {recursive: true, force: true});
      });
    } finally {
      unregister();
    }
  };
  const unregister = registerCleanup(`detach ${mountpoint}`, detach);

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
    await detach().catch(() => undefined);
    if (error instanceof StepError && error.output.some((l) => /write" lock|another process using the image/.test(l))) {
      throw new InUseError(`${image} is in use by another process (a running VM or a connected qemu-nbd)`, 'stop the VM or disconnect the NBD device first: tdx-wizard status, tdx-wizard nbd list');
    }
    throw error;
  });
  if (!runner.dryRun) pid = Number((await readFile(pidFile, 'utf8')).trim());
  if (!runner.dryRun && !existsSync(mountpoint)) throw new StepError(`the FUSE export of ${image} did not appear`, 'attach');
  return {path: mountpoint, via: 'fuse', detach};
}

/**
 * SIGTERM (qemu-storage-daemon flushes its qcow2 metadata and unmounts), then wait for it to exit.
 * A daemon that died (killed, crashed) leaves its FUSE mount behind, dead ("Transport endpoint is
 * not connected"): that mount is removed with fusermount3 -u. Never SIGKILL.
 */
async function stopDaemon(runner: Runner, pid: number, mountpoint: string): Promise<void> {
  if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (pid && alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (pid && alive(pid)) throw new StepError(`qemu-storage-daemon (pid ${pid}) did not exit after ${STOP_TIMEOUT_MS / 1000} s; it was left running so no data is lost`, 'detach', [], `wait, then: kill -TERM ${pid}`);
  // A daemon that exits unmounts first; give the kernel a moment before calling a mount dead.
  const settle = Date.now() + 2000;
  while ((await mounted(mountpoint)) && Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
  if (await mounted(mountpoint)) {
    await runner.run({cmd: 'fusermount3', args: ['-u', '-z', mountpoint], title: 'Remove the dead FUSE mount of a daemon that is gone', cleanup: true});
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * What a run killed with SIGKILL left attached: its qemu-storage-daemon keeps the image locked and
 * its FUSE export mounted under <state>/attach/fuse-OWNERPID-*. Found at the start of every write
 * command; for an owner that is gone the daemon is stopped gracefully (SIGTERM, so it flushes) and
 * the directory removed. A live owner's attachment is left alone. Returns one sentence per leftover.
 */
export async function reclaimFuseLeftovers(runner: Runner): Promise<string[]> {
  const base = join(stateDir(), 'attach');
  const notes: string[] = [];
  for (const entry of await readdir(base).catch(() => [] as string[])) {
    const owner = /^fuse-(\d+)-/.exec(entry)?.[1];
    if (!owner || Number(owner) === process.pid || alive(Number(owner))) continue;
    const dir = join(base, entry);
    const mountpoint = join(dir, 'disk');
    const daemon = Number((await readFile(join(dir, 'daemon.pid'), 'utf8').catch(() => '')).trim()) || 0;
    const argv = daemon ? cmdlineOf(daemon) : [];
    // Only the daemon that serves this directory's mountpoint (a pid can be reused).
    const ours = daemon > 0 && alive(daemon) && argv.some((a) => a.includes(mountpoint.replace(/,/g, ',,')));
    const image = /filename=((?:[^,]|,,)*)/.exec(argv.find((a) => a.startsWith('driver=file,')) ?? '')?.[1]?.replace(/,,/g, ',');
    const wasMounted = await mounted(mountpoint);
    if (!ours && !wasMounted) {
      await runner.act(`Remove ${dir}, left by pid ${owner}`, ['rm', '-rf', '--', dir], () => rm(dir, {recursive: true, force: true}));
      notes.push(`${runner.dryRun ? 'would remove' : 'removed'} ${dir}, left behind by an earlier run (pid ${owner}) that was killed; nothing was attached any more`);
      continue;
    }
    await runner.act(
      `Stop the qemu-storage-daemon left by pid ${owner} (gracefully)`,
      ['kill', '-TERM', String(ours ? daemon : `$(cat ${join(dir, 'daemon.pid')})`)],
      async () => {
        await stopDaemon(runner, ours ? daemon : 0, mountpoint);
        await rm(dir, {recursive: true, force: true});
      },
    );
    notes.push(
      `an earlier run (pid ${owner}) was killed while ${image ?? 'a volume'} was attached: ${ours ? `${runner.dryRun ? 'would stop' : 'stopped'} its qemu-storage-daemon (pid ${daemon}) gracefully` : `${runner.dryRun ? 'would remove' : 'removed'} its dead FUSE mount`} and ${runner.dryRun ? 'remove' : 'removed'} ${dir}; check the image with: qemu-img check ${image ?? '<image>'}`,
    );
  }
  return notes;
}
