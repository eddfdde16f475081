// Every volume this host has where the wizard can find it (src/inventory/find.ts), each read with
// the in-process reader (no process per volume): its role and label, the VM it belongs to, the eras
// whose guest would take it, the verdict, clear or encrypted, sizes, last change, and who holds it;
// then, per host filesystem, what the thin volumes on it can still grow to against its free space.
import {existsSync, statSync} from 'node:fs';
import {basename, dirname, isAbsolute, join, relative, sep} from 'node:path';
import {imagesUse, type UseReport} from '../attach/holders.js';
import {formatFromName} from '../era/choose.js';
import {ERAS, findEra, volumeSpec, type Era, type EraId, type Role, type VolumeSpec} from '../era/eras.js';
import {eraFromOption} from '../era/remembered.js';
import {roleOf} from '../volume/set.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {freeBytes} from '../volume/space.js';
import {formatBytes} from '../volume/size.js';
import {imagesIn, layoutRoot, openImages, sources} from './find.js';
import {readManifest, type Manifest, type ManifestVolume} from './manifest.js';

export interface Entry {
  path: string;
  /** Why it was looked at: the directories it was found through, or "open by QEMU". */
  foundBy: string[];
  /** The role its name or label gives it; undefined for a volume that says neither (judged as a cache volume). */
  role?: Role;
  label?: string;
  /** The VM it belongs to: the hostname in upstream's file name, or its layout folder. */
  vm?: string;
  /** The eras whose guest would take it in this role. */
  fits: EraId[];
  /** The era the verdict is for: the remembered one (else E4) when the volume fits it or fits none, else the newest it fits. */
  judgedFor: EraId;
  inspection: Inspection;
  encrypted: boolean;
  changed?: string;
  /** From its folder's manifest (the layout): its identity, and how many times it was made anew or formatted. */
  uuid?: string;
  generation?: number;
}

export interface Capacity {
  /** A directory on that filesystem (the first volume's). */
  dir: string;
  /** How much the thin volumes there can still grow, all together. */
  growBytes: number;
  freeBytes?: number;
  volumes: string[];
  warning?: string;
}

export interface Inventory {
  entries: Entry[];
  capacity: Capacity[];
  looked: string[];
}

export async function takeInventory(given: readonly string[]): Promise<Inventory> {
  const found = new Map<string, Set<string>>();
  const note = (path: string, why: string) => found.set(path, (found.get(path) ?? new Set()).add(why));
  const srcs = sources(given);
  for (const src of srcs) for (const path of imagesIn(src.dir)) note(path, src.why);
  for (const path of openImages()) note(path, 'open by QEMU');
  // The manifests of the folders (the layout's have one): what they know of each volume, and those recorded in place.
  const known = new Map<string, {vm: string; volume: ManifestVolume}>();
  for (const src of srcs) {
    const manifest = manifestOrNone(src.dir);
    for (const volume of manifest?.volumes ?? []) {
      const path = isAbsolute(volume.name) ? volume.name : join(src.dir, volume.name);
      known.set(path, {vm: manifest!.vm, volume});
      if (isAbsolute(volume.name) && existsSync(path)) note(path, 'the layout (recorded in place)');
    }
  }
  const paths = [...found.keys()].sort();
  const use = await imagesUse(paths); // one /proc scan for all of them
  const remembered = eraFromOption(undefined);
  const entries = await Promise.all(
    paths.map(async (path): Promise<Entry> => {
      // First as its name (else its label, else a cache volume) under the remembered era.
      const first = await judged(path, remembered, use.get(path));
      const fitting = fits(path, first.inspection);
      const newest = fitting.length && !fitting.includes(remembered.id) ? findEra(fitting.at(-1)!)! : undefined;
      const {spec, inspection, named} = newest ? await judged(path, newest, use.get(path)) : first;
      const st = statSync(path, {throwIfNoEntry: false});
      return {
        path,
        foundBy: [...found.get(path)!],
        ...(named ? {role: spec.role} : {}),
        ...(inspection.label !== undefined ? {label: inspection.label} : {}),
        ...(known.get(path) ? {vm: known.get(path)!.vm, uuid: known.get(path)!.volume.uuid, generation: known.get(path)!.volume.generation} : vmOf(path)),
        fits: fitting,
        judgedFor: (newest ?? remembered).id,
        inspection,
        encrypted: inspection.filesystem === 'crypto_LUKS',
        ...(st ? {changed: st.mtime.toISOString()} : {}),
      };
    }),
  );
  return {entries, capacity: await capacity(entries), looked: srcs.map((s) => `${s.dir} (${s.why})`)};
}

/** The folder's manifest; none when it has none or it is damaged (its volumes are still listed, from their files). */
function manifestOrNone(dir: string): Manifest | undefined {
  try {
    return readManifest(dir);
  } catch {
    return undefined;
  }
}

/** A volume judged as the role of `era` its name says, else its label, else the cache volume. */
async function judged(path: string, era: Era, use: UseReport | undefined): Promise<{spec: VolumeSpec; inspection: Inspection; named: boolean}> {
  const byName = roleOf(era, path);
  const first = await inspectVolume(path, {era, spec: byName ?? volumeSpec(era, 'cache')!}, use);
  if (byName) return {spec: byName, inspection: first, named: true};
  const byLabel = era.volumes.find((v) => v.label === first.label);
  if (!byLabel) return {spec: volumeSpec(era, 'cache')!, inspection: first, named: false};
  return {spec: byLabel, inspection: byLabel.role === 'cache' ? first : await inspectVolume(path, {era, spec: byLabel}, use), named: true};
}

/** The hostname in upstream's `<prefix>-<host>.<ext>`, else the folder of the wizard's layout. */
export function vmOf(path: string): {vm?: string} {
  const prefixes = [...new Set(ERAS.flatMap((e) => e.volumes.map((v) => v.filePrefix)))];
  const name = basename(path);
  for (const prefix of prefixes) {
    const m = new RegExp(`^${prefix}-(.+)\\.(qcow2|raw|img)$`, 'i').exec(name);
    if (m) return {vm: m[1]!};
  }
  const inLayout = relative(layoutRoot(), path).split(sep);
  return inLayout.length === 3 && (inLayout[0] === 'clear' || inLayout[0] === 'vault') ? {vm: inLayout[1]!} : {};
}

/** The eras whose guest takes this volume as it is: the label one of its roles looks for, a format its launcher passes right, a filesystem it mounts (or a LUKS2 one it made). */
export function fits(path: string, i: Inspection): EraId[] {
  if (!i.format || !i.label) return [];
  return ERAS.filter((era) =>
    era.volumes.some((spec) => {
      if (spec.label !== i.label) return false;
      const passedAs = spec.formatRule === 'qcow2-only' ? 'qcow2' : (formatFromName(path) ?? 'raw');
      if (passedAs !== i.format) return false;
      if (i.filesystem === 'crypto_LUKS') return spec.production === 'guest';
      return (spec.debugFs as string[]).includes(i.filesystem ?? '');
    }),
  ).map((e) => e.id);
}

/** Volumes a capacity warning names; the rest are counted. */
const NAMED = 5;

/** Per host filesystem: what its thin volumes can still grow to, against its free space. */
async function capacity(entries: readonly Entry[]): Promise<Capacity[]> {
  const byDevice = new Map<number, Entry[]>();
  for (const e of entries) {
    const st = statSync(e.path, {throwIfNoEntry: false});
    if (st) byDevice.set(st.dev, [...(byDevice.get(st.dev) ?? []), e]);
  }
  return Promise.all(
    [...byDevice.values()].map(async (list) => {
      const dir = dirname(list[0]!.path);
      const growBytes = list.reduce((sum, e) => sum + Math.max(0, (e.inspection.virtualSize ?? 0) - (e.inspection.allocatedSize ?? 0)), 0);
      const free = await freeBytes(dir);
      // The ones with the most room to grow first; five named, the rest counted (tdx-wizard volumes lists all).
      const room = (e: Entry) => (e.inspection.virtualSize ?? 0) - (e.inspection.allocatedSize ?? 0);
      const names = list.filter((e) => room(e) > 0).sort((a, b) => room(b) - room(a)).map((e) => basename(e.path));
      const growing = names.length > NAMED ? [...names.slice(0, NAMED), `and ${names.length - NAMED} more: tdx-wizard volumes lists them`] : names;
      const warning =
        free !== undefined && growBytes > free
          ? `the thin volumes on the filesystem of ${dir} can still grow by ${formatBytes(growBytes)}, but it has ${formatBytes(free)} free: when it fills up, their guests get I/O errors (${growing.join(', ')}). Free space there, or move a volume to another filesystem`
          : undefined;
      return {dir, growBytes, ...(free !== undefined ? {freeBytes: free} : {}), volumes: list.map((e) => e.path), ...(warning ? {warning} : {})};
    }),
  );
}
