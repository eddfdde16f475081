// The manifest of one VM folder of the layout (<root>/clear/<vm>/ or <root>/vault/<vm>/): which VM
// owns the folder, and each volume's UUID, generation (bumped when it is made anew or formatted),
// role, era, and when it was made and last changed. A volume that could not be moved into the
// folder (another filesystem) is recorded with its path, in place. Written whole, atomically (a
// temporary file, fsync, rename, fsync of the folder), 0600.
import {randomUUID} from 'node:crypto';
import {closeSync, constants, fsyncSync, openSync, renameSync, writeSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import type {EraId, Role} from '../era/eras.js';
import {UsageError} from '../errors.js';
import {readUntrusted} from '../untrusted-file.js';

export const MANIFEST_NAME = 'manifest.json';
const MANIFEST_MAX_BYTES = 1 << 20;

export interface ManifestVolume {
  /** The file's name in the folder; for a volume recorded in place, its absolute path. */
  name: string;
  uuid: string;
  generation: number;
  role?: Role;
  era?: EraId;
  created: string;
  changed: string;
  /** Where `volumes adopt` found it (what `volumes adopt --undo` puts it back to). */
  adoptedFrom?: string;
}

/** A move `volumes adopt` has started: written before the rename, removed after it. */
export interface Moving {
  from: string;
  to: string;
  since: string;
}

export interface Manifest {
  vm: string;
  volumes: ManifestVolume[];
  moving?: Moving[];
}

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_NAME);
}

/** The folder's manifest; undefined when there is none. A manifest that cannot be read is an error that says so. */
export function readManifest(dir: string): Manifest | undefined {
  const path = manifestPath(dir);
  let got;
  try {
    got = readUntrusted(path, MANIFEST_MAX_BYTES);
  } catch (error) {
    throw new UsageError(`the manifest ${path} cannot be read (${(error as NodeJS.ErrnoException).code})`, `look at it; move it aside if it is not the wizard's`);
  }
  if (got.kind === 'absent') return undefined;
  if (got.kind === 'refused') throw new UsageError(`${path} ${got.why}: not a manifest the wizard wrote`, 'move it aside');
  try {
    const parsed = JSON.parse(got.text) as Manifest;
    if (typeof parsed?.vm !== 'string' || !Array.isArray(parsed.volumes)) throw new Error('no vm or volumes');
    return parsed;
  } catch (error) {
    throw new UsageError(`the manifest ${path} is damaged (${(error as Error).message})`, `look at it, and move it aside (mv ${path} ${path}.damaged) to start it anew`);
  }
}

export function writeManifest(dir: string, manifest: Manifest): void {
  const path = manifestPath(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The VM a volume's folder belongs to, by the folder's manifest. */
export function ownerOf(path: string): string | undefined {
  return readManifest(dirname(path))?.vm;
}

/**
 * One volume, one VM: the volumes whose folder's manifest names another VM than `vm`, refused
 * together (a volume given to two VMs mixes their data).
 */
export function refuseOtherOwners(paths: readonly string[], vm: string | undefined): void {
  if (!vm) return;
  const byFolder = new Map<string, {owner: string; names: string[]}>();
  for (const path of paths) {
    const dir = dirname(path);
    const owner = ownerOf(path);
    if (!owner || owner === vm) continue;
    const seen = byFolder.get(dir) ?? {owner, names: []};
    byFolder.set(dir, {...seen, names: [...seen.names, basename(path)]});
  }
  if (!byFolder.size) return;
  const said = [...byFolder].map(([dir, {owner, names}]) => `${dir} belongs to the VM ${owner} (its ${MANIFEST_NAME}), and ${names.join(', ')} would be used from there`);
  throw new UsageError(
    `${said.join('; ')}: a volume serves one VM, and this is ${vm}`,
    `give ${vm} volumes of its own (tdx-wizard prepare --hostname ${vm} makes them in its own folder of the layout), or use the hostname the volumes belong to`,
  );
}

/** After a write command changed a volume: its folder's manifest (when it has one) says so. Never fails the command. */
export function noteChange(path: string, event: 'made' | 'touched', warn: (text: string) => void): void {
  const dir = dirname(path);
  try {
    const manifest = readManifest(dir);
    if (manifest) recordVolume(dir, manifest.vm, path, {event});
  } catch (error) {
    warn(`the manifest of ${dir} was not updated: ${(error as Error).message}`);
  }
}

/**
 * Records that `path` (in its folder, or `inPlaceOf` the folder for a volume left where it is) was
 * made or formatted now: a new volume gets a UUID and generation 1; one made anew or formatted keeps
 * its UUID and goes one generation up; `touched` only updates the last change; `noted` writes only
 * when the manifest does not know the volume yet.
 */
export function recordVolume(dir: string, vm: string, path: string, what: {role?: Role; era?: EraId; event: 'made' | 'touched' | 'adopted' | 'noted'; adoptedFrom?: string}): ManifestVolume {
  const manifest = readManifest(dir) ?? {vm, volumes: []};
  if (manifest.vm !== vm) throw new UsageError(`${dir} belongs to the VM ${manifest.vm}, not ${vm}`, 'use that VM\'s name, or a folder of its own');
  const name = dirname(path) === dir ? basename(path) : path;
  const now = new Date().toISOString();
  const old = manifest.volumes.find((v) => v.name === name);
  if (old && what.event === 'noted') return old;
  const entry: ManifestVolume = old
    ? {...old, generation: old.generation + (what.event === 'made' ? 1 : 0), changed: now}
    : {name, uuid: randomUUID(), generation: 1, created: now, changed: now};
  if (what.role) entry.role = what.role;
  if (what.era) entry.era = what.era;
  if (what.adoptedFrom) entry.adoptedFrom = what.adoptedFrom;
  manifest.volumes = [...manifest.volumes.filter((v) => v.name !== name), entry];
  writeManifest(dir, manifest);
  return entry;
}
