// Choosing an era and checking a volume's kind against it: the era (--era, else the remembered
// one, else the document's), the role's spec, the container format against the file's name, and
// the filesystem against the role's label and what the era's debug image mounts. Every refusal is
// a UsageError (exit 2, nothing touched) that says what to do instead.
import {UsageError} from '../errors.js';
import {DEFAULT_ERA, ERAS, ERA_IDS, LABEL_MAX, findEra, volumeSpec, type ContainerFormat, type Era, type Fs, type Role, type VolumeSpec} from './eras.js';

export const ROLES: readonly Role[] = ['cache', 'storage', 'containerd', 'config'];

/** `--era` wins, then the remembered setting, then the document's era. */
export function chooseEra(option?: unknown, remembered?: string): Era {
  const given = option === undefined || option === null || option === '' ? undefined : String(option);
  const era = findEra(given ?? remembered ?? DEFAULT_ERA);
  if (era) return era;
  if (given === undefined) return findEra(DEFAULT_ERA)!; // a remembered value from a newer wizard: the default
  throw new UsageError(`unknown era "${given}"`, `pass --era with one of ${ERA_IDS.join(', ')} (tdx-wizard eras lists them; ${DEFAULT_ERA} is the February 2026 document's)`);
}

export function chooseRole(era: Era, role: unknown = 'cache'): VolumeSpec {
  const name = String(role);
  if (!ROLES.includes(name as Role)) throw new UsageError(`unknown role "${name}"`, `pass --role with one of ${ROLES.join(', ')}`);
  const spec = volumeSpec(era, name as Role);
  if (spec) return spec;
  const has = ERAS.filter((e) => volumeSpec(e, name as Role)).map((e) => e.id);
  throw new UsageError(
    `the ${era.id} guest (${era.title}) has no ${name} volume; it reads ${era.volumes.map((v) => `${v.role} ("${v.label}")`).join(', ')}`,
    has.length ? `a ${name} volume belongs to ${has.join(', ')}: pass --era ${has[has.length - 1]} if that is your guest, or choose --role ${era.volumes[0]!.role}` : `choose --role ${era.volumes[0]!.role}`,
  );
}

/** What the name says the file is, when its extension says anything. */
export function formatFromName(path: string): ContainerFormat | undefined {
  if (/\.qcow2$/i.test(path)) return 'qcow2';
  if (/\.(raw|img)$/i.test(path)) return 'raw';
  return undefined;
}

/**
 * The container format for a new volume: `--format`, else what the name says, else the era's. A
 * name that contradicts the format is refused: launchers from E5 on pass a `.raw`/`.img` file as raw
 * and anything named `.qcow2` as qcow2, so a mismatch is a guest that finds no label (or a QEMU that
 * will not start), and an operator reading the name is misled too.
 */
export function chooseFormat(spec: VolumeSpec, path: string, option?: unknown): ContainerFormat {
  const named = formatFromName(path);
  const given = option === undefined || option === null || option === '' ? undefined : String(option);
  if (given !== undefined && given !== 'qcow2' && given !== 'raw') throw new UsageError(`unknown format "${given}"`, 'pass --format qcow2 or --format raw');
  const format = (given as ContainerFormat | undefined) ?? (spec.formatRule === 'qcow2-only' ? 'qcow2' : named ?? spec.newFormat);
  if (spec.formatRule === 'qcow2-only' && (format === 'raw' || named === 'raw')) {
    throw new UsageError(
      spec.role === 'config'
        ? 'the config volume must be qcow2: every launcher passes it with format=qcow2'
        : `this era's launcher passes the ${spec.role} volume with format=qcow2: QEMU refuses to start with a raw file`,
      `leave out --format raw${named === 'raw' ? `, and name the file .qcow2` : ''}${spec.role === 'config' ? '' : ' (or choose --era E5 or later, whose launcher takes raw files named .raw)'}`,
    );
  }
  if (named && named !== format) {
    const want = format === 'qcow2' ? '.qcow2' : '.raw';
    throw new UsageError(
      `${path} is named as a ${named} file but would be ${format}: launchers from E5 on choose the format from the name, so the guest would see ${format === 'qcow2' ? "the qcow2's header instead of a filesystem and find no label" : 'a raw file opened as qcow2, and QEMU would refuse to start'}`,
      `name it ${path.replace(/\.(qcow2|raw|img)$/i, want)}, or pass --format ${named}`,
    );
  }
  if (!named && spec.formatRule === 'by-extension' && format === 'qcow2') {
    throw new UsageError(`${path} has no .qcow2 extension, and this era's launcher would pass it as raw`, `name it ${path}.qcow2, or pass --format raw`);
  }
  return format;
}

/** " (xfs volumes are for --era E5x or E6)": the eras whose debug guest mounts that filesystem for the role. */
function erasMounting(role: Role, fs: Fs): string {
  const ids = ERAS.filter((e) => volumeSpec(e, role)?.debugFs.includes(fs)).map((e) => e.id);
  return ids.length ? ` (${fs} ${role} volumes are for --era ${ids.join(' or ')})` : '';
}

/** The filesystem for a new data volume: `--fs`, else the first the era's debug image mounts. */
export function chooseFs(era: Era, spec: VolumeSpec, label: string, option?: unknown): Fs {
  const given = option === undefined || option === null || option === '' ? undefined : String(option);
  if (given !== undefined && given !== 'ext4' && given !== 'xfs') throw new UsageError(`unknown filesystem "${given}"`, 'pass --fs ext4 or --fs xfs');
  const fs = (given as Fs | undefined) ?? spec.debugFs[0]!;
  const bytes = Buffer.byteLength(label, 'utf8');
  if (bytes > LABEL_MAX[fs]) {
    throw new UsageError(
      `the label "${label}" is ${bytes} bytes; ${fs === 'xfs' ? 'XFS' : 'ext4'} keeps at most ${LABEL_MAX[fs]}${spec.role === 'containerd' && fs === 'xfs' ? ', so a containerd volume cannot be XFS' : ''}`,
      fs === 'xfs' ? 'use --fs ext4' : `choose a label of at most ${LABEL_MAX[fs]} bytes`,
    );
  }
  if (!spec.debugFs.includes(fs)) {
    throw new UsageError(
      `the ${era.id} debug guest mounts its ${spec.role} volume as ${spec.debugFs.join(' or ')}: a ${fs} volume fails to mount and the VM powers off`,
      `use --fs ${spec.debugFs[0]}${erasMounting(spec.role, fs)}`,
    );
  }
  return fs;
}
