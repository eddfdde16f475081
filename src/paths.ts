// Where the wizard keeps its own files. Every location can be moved with an environment
// variable, which is how the tests keep to their temporary directories.
import {homedir} from 'node:os';
import {join} from 'node:path';

export function stateDir(): string {
  if (process.env.TDX_WIZARD_STATE_DIR) return process.env.TDX_WIZARD_STATE_DIR;
  const base = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(base, 'tdx-wizard');
}

export function configDir(): string {
  if (process.env.TDX_WIZARD_CONFIG_DIR) return process.env.TDX_WIZARD_CONFIG_DIR;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'tdx-wizard');
}

/** The fixed files of the upstream launcher (upstream-sek8s.md §1.6). */
export function pidFile(): string {
  return process.env.TDX_WIZARD_PID_FILE || '/tmp/tdx-td-pid.pid';
}

export function serialLog(): string {
  return process.env.TDX_WIZARD_SERIAL_LOG || '/tmp/tdx-guest-td.log';
}
