// A small file in a place other local users can write (/tmp, /run/lock) or hand us (a manifest in
// a folder): never followed (O_NOFOLLOW: a symlink to /etc/shadow or /dev/zero), never blocking
// (O_NONBLOCK: a FIFO that hangs the reader), never more than `maxBytes` read. What it is, for the
// caller to judge (its owner among it); a link, a non-file or a large file is refused with why.
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs';

export type UntrustedRead = {kind: 'absent'} | {kind: 'refused'; why: string} | {kind: 'read'; text: string; uid: number};

/** Other errors (EACCES, EIO) are thrown as they are. */
export function readUntrusted(path: string, maxBytes: number): UntrustedRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return {kind: 'absent'};
    if (code === 'ELOOP') return {kind: 'refused', why: 'is a symbolic link'};
    throw error;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return {kind: 'refused', why: 'is not a regular file'};
    if (st.size > maxBytes) return {kind: 'refused', why: `is ${st.size} bytes`};
    const buffer = Buffer.alloc(maxBytes);
    return {kind: 'read', text: buffer.subarray(0, readSync(fd, buffer, 0, maxBytes, 0)).toString('utf8'), uid: st.uid};
  } finally {
    closeSync(fd);
  }
}
