import {accessSync, constants, lstatSync, statSync} from 'node:fs';
import {resolve} from 'node:path';
import {UsageError} from '../errors.js';

/** The path of an existing volume file, checked before anything runs. */
export function existingVolumePath(input: string, options: {followSymlink?: boolean} = {}): string {
  if (!input || /[\x00-\x1f\x7f]/.test(input)) throw new UsageError('the volume path is empty or has control characters', 'give the path of the volume file');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(input)) throw new UsageError(`"${input}" looks like a qemu protocol name, not a file`, 'give the path of the volume file');
  const path = resolve(input);
  let st;
  try {
    st = options.followSymlink ? statSync(path) : lstatSync(path);
  } catch {
    throw new UsageError(`${path} does not exist`, 'check the path (tdx-wizard inspect <path> shows what a file holds)');
  }
  if (st.isSymbolicLink()) throw new UsageError(`${path} is a symbolic link`, 'give the real path of the volume');
  if (!st.isFile()) throw new UsageError(`${path} is not a regular file`, 'give the path of the volume file');
  return path;
}

/** Before writing to a volume: say plainly when this user cannot, instead of failing in a tool halfway. */
export function requireWritable(path: string, what: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new UsageError(`${path} is on a read-only file system: ${what} writes to the volume`, 'remount it read-write, or copy the volume to a writable file system first');
    throw new UsageError(`${path} cannot be written by this user (permission denied): ${what} writes to the volume`, 'run as root (sudo), or as the owner of the volume');
  }
}
