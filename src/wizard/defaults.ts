// Defaults the launch form offers before anything is remembered.
import {hostname} from 'node:os';
import {dirname, join} from 'node:path';

/** `cache-<this host>.qcow2` beside the launcher (upstream's name), else in the working directory. */
export function defaultVolumePath(launcher: string | undefined): string {
  return join(launcher ? dirname(launcher) : process.cwd(), `cache-${hostname()}.qcow2`);
}
