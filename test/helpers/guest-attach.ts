// Attach a volume read-only as a loop device, as a guest's virtio disk would show it: a qcow2 is
// exported as a plain file by qemu-storage-daemon (FUSE, writable=off: no NBD module here), then
// `losetup -r` on that file; a raw file gets `losetup -r` directly. Read-only twice over (the
// export and the loop device), so no guest script run against it can change the volume.
// A test-side copy of src/attach/fuse.ts's idea: that one registers process-wide cleanups and a
// state directory for the wizard; a test wants a temp directory and a detach it awaits.
import {execFile, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify} from 'node:util';
import {requireGuestTools} from './guest-tools.js';

const run = promisify(execFile);

export interface AttachedDevice {
  /** /dev/loopN */
  device: string;
  detach(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return check();
}

/** Exports a qcow2 as a read-only file; returns the file and its stop (SIGTERM, then fusermount3 -u if the daemon died). */
async function exportQcow2(image: string): Promise<{file: string; stop: () => Promise<void>}> {
  const dir = mkdtempSync(join(tmpdir(), 'tdxw-guest-fuse-'));
  const file = join(dir, 'disk');
  const pidFile = join(dir, 'daemon.pid');
  writeFileSync(file, '', {mode: 0o600});
  const stop = async () => {
    const pid = Number(existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : 0);
    if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
    if (pid) await waitFor(() => !alive(pid), 20_000);
    if (!(await waitFor(() => !mounted(file), 2000))) spawnSync('fusermount3', ['-u', '-z', file]);
    rmSync(dir, {recursive: true, force: true});
  };
  try {
    await run('qemu-storage-daemon', [
      '--blockdev', `driver=file,node-name=file0,filename=${image.replace(/,/g, ',,')},read-only=on`,
      '--blockdev', 'driver=qcow2,node-name=disk0,file=file0,read-only=on',
      '--export', `type=fuse,id=exp0,node-name=disk0,mountpoint=${file},writable=off`,
      '--pidfile', pidFile,
      '--daemonize',
    ]);
  } catch (error) {
    await stop();
    throw new Error(`qemu-storage-daemon could not export ${image}: ${(error as {stderr?: string}).stderr ?? error}`);
  }
  return {file, stop};
}

export async function attachReadOnly(image: string, format: 'qcow2' | 'raw'): Promise<AttachedDevice> {
  requireGuestTools('losetup', ...(format === 'qcow2' ? ['qemu-storage-daemon', 'fusermount3'] : []));
  const exported = format === 'qcow2' ? await exportQcow2(image) : undefined;
  let device = '';
  try {
    device = (await run('losetup', ['-r', '--find', '--show', exported?.file ?? image])).stdout.trim();
    if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup gave no loop device for ${image}: '${device}'`);
  } catch (error) {
    await exported?.stop();
    throw error;
  }
  let detaching: Promise<void> | undefined;
  const detach = () =>
    (detaching ??= (async () => {
      // losetup -d only marks an in-use device for autoclear; the sandbox is gone by now, so it frees at once.
      try {
        await run('losetup', ['-d', device]);
      } finally {
        await exported?.stop();
      }
    })());
  return {device, detach};
}

/** Attaches every image, and detaches those already attached when one fails. */
export async function attachAll(images: {path: string; format: 'qcow2' | 'raw'}[]): Promise<AttachedDevice[]> {
  const done: AttachedDevice[] = [];
  try {
    for (const img of images) done.push(await attachReadOnly(img.path, img.format));
  } catch (error) {
    await detachAll(done);
    throw error;
  }
  return done;
}

export async function detachAll(devices: AttachedDevice[]): Promise<void> {
  const results = await Promise.allSettled(devices.map((d) => d.detach()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
