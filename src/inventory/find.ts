// Where volumes are on this host: the directories the operator used before (the remembered set,
// volume and launcher), the wizard's layout root, any directory given, and every image a QEMU
// process (qemu-system, qemu-nbd, qemu-storage-daemon) has open now. Read from the settings file and
// /proc only: nothing is run.
import {lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs';
import {dirname, join, relative, resolve, sep} from 'node:path';
import {configDir} from '../paths.js';

/** The wizard's default layout root: <root>/clear/<vm>/ and <root>/vault/<vm>/. */
export function layoutRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.TDX_WIZARD_LAYOUT_ROOT || '/var/lib/tdx-wizard';
}

/**
 * The other folder of the same VM in the layout (clear/<vm> <-> vault/<vm>): a set prepared for a
 * debug guest has its data volumes in clear/ and its config volume in vault/.
 */
export function layoutSibling(dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const parts = relative(layoutRoot(env), resolve(dir)).split(sep);
  if (parts.length !== 2 || !['clear', 'vault'].includes(parts[0]!)) return undefined;
  return join(layoutRoot(env), parts[0] === 'clear' ? 'vault' : 'clear', parts[1]!);
}

/** Every VM folder of the layout: <root>/clear/<vm> and <root>/vault/<vm>. */
export function layoutVmFolders(root = layoutRoot()): string[] {
  return ['clear', 'vault'].flatMap((kind) => list(join(root, kind)).map((vm) => join(root, kind, vm)));
}

/** A volume by its name: qcow2, raw or img (what QEMU and upstream's scripts use). */
export const IMAGE_NAME = /\.(qcow2|raw|img)$/i;

export interface Source {
  dir: string;
  /** Why it is looked in: "remembered set", "--dir", "layout", "launcher's directory". */
  why: string;
}

/** The directories to look in, each once, with why. */
export function sources(given: readonly string[], env: NodeJS.ProcessEnv = process.env): Source[] {
  const out: Source[] = given.map((dir) => ({dir: resolve(dir), why: '--dir'}));
  const s = remembered();
  const add = (path: string | undefined, why: string) => path && out.push({dir: resolve(path), why});
  add(s.volumeDir, 'the remembered set');
  for (const path of Object.values(s.volumes ?? {})) add(path && dirname(path), 'the remembered set');
  add(s.volumePath && dirname(s.volumePath), 'the remembered volume');
  add(s.launcherPath && dirname(s.launcherPath), "the launcher's directory");
  for (const folder of layoutVmFolders(layoutRoot(env))) add(folder, 'the layout');
  const seen = new Set<string>();
  return out.filter((s) => !seen.has(s.dir) && seen.add(s.dir));
}

function remembered(): {volumeDir?: string; volumes?: Record<string, string>; volumePath?: string; launcherPath?: string} {
  try {
    return JSON.parse(readFileSync(join(configDir(), 'config.json'), 'utf8'));
  } catch {
    return {};
  }
}

/** The image files directly in a directory (not below: a home directory is not searched). */
export function imagesIn(dir: string): string[] {
  return list(dir)
    .filter((name) => IMAGE_NAME.test(name))
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return lstatSync(path).isFile();
      } catch {
        return false;
      }
    });
}

/** Image files QEMU processes have open now, wherever they are (a VM started by hand included). */
export function openImages(proc = process.env.TDX_WIZARD_PROC_ROOT || '/proc'): string[] {
  const found = new Set<string>();
  for (const pid of list(proc)) {
    if (!/^\d+$/.test(pid)) continue;
    let comm = '';
    try {
      comm = readFileSync(join(proc, pid, 'comm'), 'utf8').trim();
    } catch {
      continue;
    }
    if (!comm.startsWith('qemu')) continue;
    for (const fd of list(join(proc, pid, 'fd'))) {
      try {
        const target = readlinkSync(join(proc, pid, 'fd', fd));
        if (target.startsWith('/') && IMAGE_NAME.test(target)) found.add(target);
      } catch {
        // closed meanwhile
      }
    }
  }
  return [...found];
}

/** The names in a directory; none when it cannot be read. */
export function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
