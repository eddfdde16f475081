// The volume set of one VM: every volume its era's guest reads, checked together. One volume can be
// right on its own and the set still wrong: a role missing, or two volumes with the same label,
// of which the guest's `blkid -l -t LABEL=` picks one at random.
import {existsSync} from 'node:fs';
import {basename, join} from 'node:path';
import {defaultFileName, type ContainerFormat, type Era, type Role, type VolumeSpec} from '../era/eras.js';
import {formatBytes} from './size.js';
import {inspectVolume, type Inspection} from './inspect.js';
import {imagesUse} from '../attach/holders.js';
import {layoutSibling} from '../inventory/find.js';

export interface SetMember {
  spec: VolumeSpec;
  path: string;
  /** Absent when the file does not exist. */
  inspection?: Inspection;
}

export interface SetProblem {
  text: string;
  fix?: string;
}

export interface SetCheck {
  era: Era;
  members: SetMember[];
  ok: boolean;
  problems: SetProblem[];
}

/**
 * Where each volume of the set lives in `dir`, as upstream names them (`cache-<host>.raw`, …). An
 * existing file under the other extension is taken instead (a `.qcow2` cache kept from an older
 * era), so that a set is found as it is on disk; the check then says whether the era accepts it.
 */
export function setPaths(era: Era, dir: string, hostname: string): Map<Role, string> {
  const sibling = layoutSibling(dir);
  return new Map(
    era.volumes.map((spec) => {
      const here = volumeFile(spec, dir, hostname);
      const there = !here.exists && sibling ? volumeFile(spec, sibling, hostname) : undefined;
      return [spec.role, (there?.exists ? there : here).path];
    }),
  );
}

/**
 * A role's file in `dir` as upstream names it in `format`; with `otherExtension`, an existing file
 * under the other extension when that one is absent. `exists` says whether `path` is there.
 */
export function volumeFile(spec: VolumeSpec, dir: string, hostname: string, format: ContainerFormat = spec.newFormat, otherExtension = true): {path: string; exists: boolean} {
  const preferred = join(dir, defaultFileName(spec, hostname, format));
  if (existsSync(preferred)) return {path: preferred, exists: true};
  const alternative = join(dir, defaultFileName(spec, hostname, format === 'qcow2' ? 'raw' : 'qcow2'));
  return otherExtension && existsSync(alternative) ? {path: alternative, exists: true} : {path: preferred, exists: false};
}

/** Which role a file given on the command line plays: its upstream name prefix, else the label it carries. */
export function roleOf(era: Era, path: string, label?: string): VolumeSpec | undefined {
  const name = basename(path);
  return era.volumes.find((v) => name.startsWith(`${v.filePrefix}-`) || name === `${v.filePrefix}.qcow2` || name === `${v.filePrefix}.raw`) ?? era.volumes.find((v) => v.label === label);
}

export async function checkSet(era: Era, paths: Map<Role, string>): Promise<SetCheck> {
  const existing = [...paths.values()].filter((p) => existsSync(p));
  const use = await imagesUse(existing); // one /proc scan for the whole set
  const members: SetMember[] = await Promise.all(
    era.volumes.map(async (spec): Promise<SetMember> => {
      const path = paths.get(spec.role);
      if (!path) return {spec, path: ''};
      if (!existsSync(path)) return {spec, path};
      return {spec, path, inspection: await inspectVolume(path, {era, spec}, use.get(path))};
    }),
  );
  const problems: SetProblem[] = [];
  for (const {spec, path, inspection} of members) {
    if (!inspection) {
      if (spec.required) problems.push({text: `no ${spec.role} volume${path ? ` (${path} does not exist)` : ''}: the ${era.id} guest looks for "${spec.label}" and powers off without it`, fix: spec.role === 'config' ? 'tdx-wizard config-volume <path> ...' : `tdx-wizard create ${path || '<path>'} --role ${spec.role} --era ${era.id}`});
      continue;
    }
    if (!inspection.accepted) problems.push({text: `${spec.role}: ${inspection.reason}`, fix: inspection.fix});
  }
  // Labels as the guest sees them: a filesystem label or a LUKS2 label, whichever the file carries.
  const byLabel = new Map<string, string[]>();
  for (const m of members) {
    const label = m.inspection?.label;
    if (label) byLabel.set(label, [...(byLabel.get(label) ?? []), m.path]);
  }
  for (const [label, holders] of byLabel) {
    if (holders.length > 1) {
      problems.push({
        text: `${holders.length} volumes carry the label "${label}" (${holders.join(', ')}): the guest's blkid -l picks one of them at random`,
        fix: `give each volume its own role's label (tdx-wizard verify shows which is which), or replace the wrong one`,
      });
    }
  }
  return {era, members, ok: problems.length === 0, problems};
}

/** One row per volume, for a table: role, path, size, format, filesystem, status. */
export function setRows(check: SetCheck): string[][] {
  return check.members.map(({spec, path, inspection: i}) => [
    spec.role,
    path || '-',
    i?.virtualSize !== undefined ? formatBytes(i.virtualSize) : spec.defaultSize,
    i?.format ?? '-',
    i ? `${i.filesystem ?? '-'}${i.label ? ` "${i.label}"` : ''}` : '-',
    i ? (i.accepted ? i.verdict : `${i.verdict}: ${i.reason}`) : 'missing',
  ]);
}
