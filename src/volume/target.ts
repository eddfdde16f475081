// Where a new volume goes. Checked before anything is touched; the final guarantee that nothing
// existing is overwritten is the O_EXCL reservation in the create flow, not this look-ahead.
import {accessSync, constants, lstatSync, statSync, type Stats} from 'node:fs';
import {basename, dirname, resolve} from 'node:path';
import type {ContainerFormat} from '../era/eras.js';
import {UsageError} from '../errors.js';

export interface Target {
  path: string;
  dir: string;
  name: string;
  parentMissing: boolean;
  warnings: string[];
}

/** `nbd:host:port`, `json:{...}`, `file:x`: qemu would read these as protocols, not file names. */
const PROTOCOL = /^[A-Za-z][A-Za-z0-9+.-]*:/;

export function describeExisting(st: Stats): string {
  if (st.isSymbolicLink()) return 'is a symbolic link (qemu-img would write through it)';
  if (st.isDirectory()) return 'is a directory';
  if (st.isBlockDevice()) return 'is a block device (this command creates image files, it never formats devices)';
  if (st.isCharacterDevice()) return 'is a character device';
  if (st.isFIFO() || st.isSocket()) return 'is a pipe or socket';
  return `already exists (${st.size} bytes); creating would destroy it`;
}

/** `format` is the container the file will be (chooseFormat has refused a name that says otherwise). */
/** 255 bytes, less the work directory's `.` + `.tdx-wizard-` + a pid of up to 7 digits. */
export const NAME_MAX_BYTES = 255 - 1 - '.tdx-wizard-'.length - 7;

export function checkTarget(input: string, format: ContainerFormat = 'qcow2'): Target {
  if (input === '') throw new UsageError('the volume path is empty', 'give a file name such as /var/lib/tdx/cache-volume.qcow2');
  if (/[\x00-\x1f\x7f]/.test(input)) throw new UsageError('the volume path contains a control character (newline, tab, ...)', 'choose a name with printable characters only');
  if (input.includes('\uFFFD')) throw new UsageError('the volume path is not valid UTF-8', 'choose a name in UTF-8');
  if (PROTOCOL.test(input)) {
    throw new UsageError(`"${input}" looks like a qemu protocol name ("${input.split(':')[0]}:"), not a file`, `write it as a path, e.g. ./${input.replace(/[:/]/g, '_')}`);
  }
  const path = resolve(input);
  const dir = dirname(path);
  const name = basename(path);
  const warnings: string[] = [];
  if (input.endsWith('/')) throw new UsageError(`"${input}" names a directory`, 'give a file name, e.g. cache-volume.qcow2');
  // The file system takes names of 255 bytes; the volume is made beside it in `.NAME.tdx-wizard-PID`.
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX_BYTES) {
    throw new UsageError(
      `the file name is ${bytes} bytes long; at most ${NAME_MAX_BYTES} can be used (file systems allow 255, and the wizard makes the volume beside it in .NAME.tdx-wizard-PID)`,
      'choose a shorter file name, e.g. cache-<hostname>.qcow2',
    );
  }

  const st = lstatOrUndefined(path);
  if (st) throw new UsageError(`${path} ${describeExisting(st)}`, st.isFile() ? `choose another name, or check the existing one with: tdx-wizard inspect ${path}` : 'choose a new file name');

  let parentMissing = false;
  const parent = statOrUndefined(dir);
  if (!parent) parentMissing = true;
  else if (!parent.isDirectory()) throw new UsageError(`${dir} is not a directory`, 'choose a path inside an existing directory');
  else {
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch (error) {
      // Root cannot write a read-only mount either: say which it is, so the fix is the right one.
      if ((error as NodeJS.ErrnoException).code === 'EROFS') throw new UsageError(`${dir} is on a read-only file system: nothing can be created there`, 'choose a directory on a writable file system (or remount it read-write)');
      throw new UsageError(`permission denied: cannot create files in ${dir}`, 'run as root (sudo) or choose a directory you can write');
    }
  }
  // A raw file needs no extension: every launcher that takes raw files takes any name but .qcow2 as raw.
  if (format === 'qcow2' && !/\.qcow2$/i.test(name)) {
    warnings.push(`${name} does not end in .qcow2; newer launchers choose the format from the extension and would pass a qcow2 named otherwise as raw (the guest then finds no label)`);
  }
  return {path, dir, name, parentMissing, warnings};
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
