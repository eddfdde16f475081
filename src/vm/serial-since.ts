// The first lines of the serial log written since a launch began. QEMU truncates the log when it
// starts, so a log left as it was before the launch belongs to the previous boot and says nothing
// about this one: its identity and size are noted before the launcher runs, and the log is read
// after only if it has changed since.
import {closeSync, openSync, readSync, statSync} from 'node:fs';

export interface SerialStamp {
  path: string;
  /** Absent when there was no log before the launch. */
  before?: {ino: number; size: number; mtimeMs: number};
}

export function stampSerial(path: string): SerialStamp {
  try {
    const st = statSync(path);
    return {path, before: {ino: st.ino, size: st.size, mtimeMs: st.mtimeMs}};
  } catch {
    return {path};
  }
}

const READ_BYTES = 64 * 1024;

/** Up to `count` first lines of the log, when it was written (or made) since `stamp`; none otherwise. */
export function serialLinesSince(stamp: SerialStamp, count = 20): string[] {
  let st;
  try {
    st = statSync(stamp.path);
  } catch {
    return [];
  }
  const {before} = stamp;
  if (before && st.ino === before.ino && st.size === before.size && st.mtimeMs === before.mtimeMs) return [];
  let fd: number | undefined;
  try {
    fd = openSync(stamp.path, 'r');
    const buffer = Buffer.alloc(READ_BYTES);
    const n = readSync(fd, buffer, 0, READ_BYTES, 0);
    const lines = buffer.toString('utf8', 0, n).split('\n');
    // A last line still being written is left out unless it is all there is.
    if (n === READ_BYTES || lines.length > 1) lines.pop();
    return lines.slice(0, count);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
