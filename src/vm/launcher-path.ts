// The launcher remembered between runs. Apart from src/vm/launcher.ts so that what only reads the
// VM's state (status, the serial log pane) does not load the settings store (conf and ajv).
import {loadSettings, remember} from '../settings.js';
import {findEra} from '../era/eras.js';
import {resolveLauncher} from './launcher.js';

/** Settings for the launcher; a broken settings file is moved aside and `notice` says so. */
function settings(notice?: (text: string) => void) {
  const loaded = loadSettings();
  if (loaded.recovered) notice?.(loaded.recovered);
  return loaded.store;
}

/**
 * The launcher given, else the one remembered, else one in the current directory, else the
 * installed launcher of the era given or remembered (resolveLauncher).
 */
export function findLauncher(given?: string, cwd = process.cwd(), notice?: (text: string) => void, eraId?: unknown): string {
  if (given) return resolveLauncher(given, cwd);
  const s = settings(notice);
  return resolveLauncher(undefined, cwd, s.get('launcherPath'), findEra(eraId === undefined ? s.get('era') : String(eraId)));
}

export function rememberLauncher(path: string, notice?: (text: string) => void): void {
  remember(settings(notice), {launcherPath: path});
}

/** The launcher and its era, after a launch that started a VM. */
export function rememberLaunch(path: string, era: string, notice?: (text: string) => void): void {
  remember(settings(notice), {launcherPath: path, era});
}
