// Where an operator keeps a launcher: looked for in the current directory when none is given or
// remembered (upstream's run-td must stay in host-tools/scripts/, beside ../../firmware/TDVF.fd);
// an era whose launcher is an installed program (chutes-cvm) is looked for on PATH after that.
import {existsSync} from 'node:fs';
import {resolve} from 'node:path';
import {findExecutable, pathDirs} from '../runner/search-path.js';
import type {Era} from '../era/eras.js';

export const LAUNCHER_NAME = 'run-tdx.sh';
const CANDIDATES = [LAUNCHER_NAME, 'run-td', 'host-tools/scripts/run-td', 'run-vm.sh', 'host-tools/scripts/run-vm.sh'];

/** The executable file `name` in the first PATH directory that has one. */
export const onPath = (name: string, searchPath = process.env.PATH ?? ''): string | undefined => findExecutable(name, pathDirs(searchPath));

/**
 * The first candidate that exists in `cwd`; else, for an era whose launcher is installed
 * (Era.launcherOnPath), that program on PATH; else ./run-tdx.sh (named in the message when there is none).
 */
export function defaultLauncherPath(cwd = process.cwd(), era?: Pick<Era, 'launcherFile' | 'launcherOnPath'>): string {
  const here = CANDIDATES.find((c) => existsSync(resolve(cwd, c)));
  if (here) return resolve(cwd, here);
  const installed = era?.launcherOnPath ? onPath(era.launcherFile) : undefined;
  return installed ?? resolve(cwd, LAUNCHER_NAME);
}
