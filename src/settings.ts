// Settings remembered between runs (conf): paths, sizes, the launcher, network settings. Offered
// as defaults, never required. The miner seed is never stored here. The file is 0600; a broken
// file is kept aside (never silently lost) and the wizard starts from defaults and says so.
import {existsSync, mkdirSync, renameSync} from 'node:fs';
import {dirname, join} from 'node:path';
import Conf from 'conf';
import type {Role} from './era/eras.js';
import {configDir} from './paths.js';

export interface Settings {
  /** The upstream era of the guest (src/era/eras.ts); unset means the document's. */
  era?: string;
  /** Where prepare put the volume set last time. */
  volumeDir?: string;
  volumePath?: string;
  /** The set's files by role (prepare, then every launch): the launch form offers them. */
  volumes?: Partial<Record<Role, string>>;
  /** The guest image given at the last launch. */
  image?: string;
  volumeSize: string;
  launcherPath?: string;
  hostname?: string;
  minerSs58?: string;
  networkType: 'tap' | 'macvtap' | 'user';
  netIface?: string;
  vmIp?: string;
  vmGateway?: string;
  vmDns?: string;
  sshPort?: string;
}

const DEFAULTS: Settings = {volumeSize: '5000G', networkType: 'tap'};
const FORBIDDEN = /seed/i;

export interface LoadedSettings {
  store: Conf<Settings>;
  /** Set when the file was unreadable and was moved aside. */
  recovered?: string;
}

export function loadSettings(dir = configDir()): LoadedSettings {
  // The directory is the operator's alone: hostnames, addresses, paths. conf would make it 0755
  // (it creates the directory, and the file with the defaults, on the first read).
  mkdirSync(dir, {recursive: true, mode: 0o700});
  const options = {projectName: 'tdx-wizard', cwd: dir, configFileMode: 0o600, defaults: DEFAULTS} as const;
  try {
    return {store: new Conf<Settings>(options)};
  } catch (error) {
    const file = join(dir, 'config.json');
    if (!existsSync(file)) throw error;
    const aside = `${file}.broken-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(file, aside);
    return {
      store: new Conf<Settings>(options),
      recovered: `the settings file could not be read (${(error as Error).message.split('\n')[0]}); it was moved to ${aside} and the defaults are used`,
    };
  }
}

/** Stores what the operator chose, refusing anything that looks like a secret. */
export function remember(settings: Conf<Settings>, values: Partial<Settings>): void {
  for (const [key, value] of Object.entries(values)) {
    if (FORBIDDEN.test(key)) throw new Error(`refusing to store ${key}: secrets are never written to the settings file`);
    if (value === undefined || value === '') continue;
    settings.set(key as keyof Settings, value as never);
  }
}

/**
 * Volumes moved (volumes adopt, or its undo): the remembered paths that named them name where they
 * are now, so the launch form offers files that exist. A remembered directory none of the set is
 * left in is forgotten (the next set starts from the layout). True when anything changed.
 */
export function followMoves(settings: Conf<Settings>, moves: ReadonlyArray<readonly [from: string, to: string]>): boolean {
  const to = new Map(moves);
  let changed = false;
  const volumePath = settings.get('volumePath');
  if (volumePath && to.has(volumePath)) {
    settings.set('volumePath', to.get(volumePath)!);
    changed = true;
  }
  const volumes = settings.get('volumes');
  if (volumes && Object.values(volumes).some((p) => p && to.has(p))) {
    settings.set('volumes', Object.fromEntries(Object.entries(volumes).map(([role, p]) => [role, p && to.has(p) ? to.get(p) : p])));
    changed = true;
  }
  const dir = settings.get('volumeDir');
  const remembered = [settings.get('volumePath'), ...Object.values(settings.get('volumes') ?? {})].filter((p): p is string => Boolean(p));
  if (dir && moves.some(([from]) => dirname(from) === dir) && !remembered.some((p) => dirname(p) === dir)) {
    settings.delete('volumeDir');
    changed = true;
  }
  return changed;
}
