// Where the wizard looks for the programs it runs. A normal user's PATH on Debian has no sbin
// directories, yet mkfs.ext4, e2label, resize2fs and losetup live there and work without root on
// a file: `check` looks there, and so does every command the runner starts.
import {accessSync, constants, statSync} from 'node:fs';
import {join, resolve} from 'node:path';

/** The sbin directories, in the order Debian's root PATH has them. */
export const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** `path` with the sbin directories it lacks added at the end (its own directories keep their precedence). */
export function withSbin(path = ''): string {
  const dirs = path.split(':').filter(Boolean);
  return [...dirs, ...SBIN.filter((d) => !dirs.includes(d))].join(':');
}

/** The executable file `name` in the first of `dirs` that has one (a directory of that name does not count). */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const path = resolve(join(dir, name));
    try {
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The directories of a PATH value, in order. */
export const pathDirs = (searchPath = process.env.PATH ?? ''): string[] => searchPath.split(':').filter(Boolean);
