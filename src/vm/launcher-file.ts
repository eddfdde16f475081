// Where an operator keeps a launcher: looked for in the current directory when none is given or
// remembered (upstream's run-td must stay in host-tools/scripts/, beside ../../firmware/TDVF.fd).
import {existsSync} from 'node:fs';
import {resolve} from 'node:path';

export const LAUNCHER_NAME = 'run-tdx.sh';
const CANDIDATES = [LAUNCHER_NAME, 'run-td', 'host-tools/scripts/run-td', 'run-vm.sh', 'host-tools/scripts/run-vm.sh'];

/** The first candidate that exists, else ./run-tdx.sh (named in the message when there is none). */
export function defaultLauncherPath(cwd = process.cwd()): string {
  return resolve(cwd, CANDIDATES.find((c) => existsSync(resolve(cwd, c))) ?? LAUNCHER_NAME);
}
