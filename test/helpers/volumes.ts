// Real volumes for tests, built with the real tools: qemu-img, mkfs.ext4, debugfs, cryptsetup, mkfs.xfs.
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawn, spawnSync} from 'node:child_process';
import {requireTools, sh, toolPath} from './tools.js';
import {waitFor} from './reliability.js';

export interface VolumeSpec {
  fs: 'ext4' | 'luks2' | 'luks1' | 'xfs' | 'empty';
  label?: string;
  /** Virtual size, qemu-img syntax. */
  size?: string;
  format?: 'qcow2' | 'raw';
  /** A file put inside the ext4 filesystem (name -> bytes). */
  data?: Buffer;
}

export const DATA_NAME = 'known-data.bin';

export function makeVolume(dir: string, name: string, spec: VolumeSpec): string {
  requireTools('qemu-img', 'mkfs.ext4', 'debugfs');
  const out = join(dir, name);
  const raw = join(dir, `${name}.build.raw`);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, spec.size ?? '1G']);
  if (spec.fs === 'ext4') {
    sh('mkfs.ext4', ['-q', '-F', ...(spec.label !== undefined ? ['-L', spec.label] : []), raw]);
    if (spec.data) {
      const src = join(dir, `${name}.data`);
      writeFileSync(src, spec.data);
      sh('debugfs', ['-w', '-R', `write ${src} ${DATA_NAME}`, raw]);
      rmSync(src);
    }
  } else if (spec.fs === 'luks2' || spec.fs === 'luks1') {
    requireTools('cryptsetup');
    const key = join(dir, `${name}.key`);
    writeFileSync(key, 'test-key-not-secret');
    const args = ['luksFormat', '--batch-mode', '--type', spec.fs, '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', key];
    if (spec.fs === 'luks2' && spec.label) args.push('--label', spec.label);
    sh('cryptsetup', [...args, raw]);
    rmSync(key);
  } else if (spec.fs === 'xfs') {
    requireTools('mkfs.xfs');
    sh('mkfs.xfs', ['-q', '-f', ...(spec.label ? ['-L', spec.label] : []), raw]);
  }
  if ((spec.format ?? 'qcow2') === 'qcow2') {
    sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
    rmSync(raw);
  } else {
    sh('mv', [raw, out]);
  }
  return out;
}

export function randomData(bytes = 256 * 1024): Buffer {
  return randomBytes(bytes);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads the known file back out of a qcow2 (or raw) ext4 volume with debugfs. */
export function readData(volume: string, format: 'qcow2' | 'raw' = 'qcow2'): Buffer {
  const raw = `${volume}.read.raw`;
  const dumped = `${volume}.dumped`;
  if (format === 'qcow2') sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', volume, raw]);
  sh('debugfs', ['-R', `dump ${DATA_NAME} ${dumped}`, format === 'qcow2' ? raw : volume]);
  const data = readFileSync(dumped);
  rmSync(dumped);
  if (format === 'qcow2') rmSync(raw);
  return data;
}

/** Holds qemu's lock on an image the way a running VM would: a qemu-nbd server on a unix socket. */
export async function holdImage(image: string, format = 'qcow2'): Promise<{pid: number; release: () => Promise<void>}> {
  requireTools('qemu-nbd');
  const sock = `${image}.sock`;
  const child = spawn('qemu-nbd', ['-f', format, '-k', sock, '--persistent', image], {stdio: 'ignore'});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      readFileSync('/proc/locks', 'utf8');
      sh('test', ['-S', sock]);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error('qemu-nbd did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid!,
    release: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * dumpe2fs's line for each block group of the ext4 on `fs` (an image or a device), with its flags
 * (ITABLE_ZEROED...). Through a file: for 40,000 groups dumpe2fs prints 16 MB, over execFileSync's
 * buffer.
 */
export function groupLines(fs: string): string[] {
  requireTools('dumpe2fs');
  const out = join(tmpdir(), `tdxw-groups-${process.pid}-${Date.now()}`);
  try {
    sh('sh', ['-c', 'dumpe2fs -- "$1" 2>/dev/null | grep "^Group [0-9]" > "$2"', 'sh', fs, out]);
    return readFileSync(out, 'utf8').trim().split('\n');
  } finally {
    rmSync(out, {force: true});
  }
}

/** Holds qemu's lock the way qemu-storage-daemon (or a VM) does: the image exported over NBD on a unix socket. */
export async function holdWithStorageDaemon(image: string): Promise<{pid: number; release: () => Promise<void>}> {
  const sock = `${image}.qsd.sock`;
  const child = spawn(toolPath('qemu-storage-daemon'), [
    '--blockdev', `driver=file,node-name=file0,filename=${image}`,
    '--blockdev', 'driver=qcow2,node-name=disk0,file=file0',
    '--nbd-server', `addr.type=unix,addr.path=${sock}`,
    '--export', 'type=nbd,id=exp0,node-name=disk0,writable=on',
  ], {stdio: 'ignore'});
  await waitFor('qemu-storage-daemon to serve', () => existsSync(sock));
  return {
    pid: child.pid!,
    release: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** An ext4 qcow2 (named `name` in `dir`) labelled tdx-cache, holding known data, with a clobbered inode, a bitmap off and the error state set. */
export function damagedExt4(dir: string, name: string, data: Buffer): string {
  const raw = join(dir, 'build.raw');
  const path = join(dir, name);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, '64M']);
  sh('mkfs.ext4', ['-q', '-F', '-L', 'tdx-cache', raw]);
  writeFileSync(join(dir, 'data'), data);
  writeFileSync(join(dir, 'victim'), 'a file whose inode is clobbered\n');
  sh('debugfs', ['-w', '-R', `write ${join(dir, 'data')} known-data.bin`, raw]);
  sh('debugfs', ['-w', '-R', `write ${join(dir, 'victim')} victim.txt`, raw]);
  for (const cmd of ['clri victim.txt', 'freeb 1000 20', 'ssv state 2']) sh('debugfs', ['-w', '-R', cmd, raw]);
  const damage = spawnSync('e2fsck', ['-fn', raw], {stdio: 'ignore'}).status;
  if (damage !== 4) throw new Error(`e2fsck -fn said ${damage}, not 4: the damage did not take`);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, path]);
  rmSync(raw);
  return path;
}

/** Sets qemu's corrupt bit: incompatible feature bit 1, in the last byte of the 8-byte field at offset 72. */
export function setCorruptBit(path: string): void {
  const bytes = readFileSync(path);
  bytes[79] = bytes[79]! | 0x02;
  writeFileSync(path, bytes);
}
