// What `prepare` will do for each volume of an era's set, decided before anything is touched:
// reuse a volume the guest already accepts, create a missing one, or refuse the whole run when an
// existing file is wrong (with its fix). A refusal changes nothing on disk.
import {existsSync} from 'node:fs';
import {resolve} from 'node:path';
import {UsageError} from '../errors.js';
import {chooseFormat, chooseFs} from '../era/choose.js';
import type {ContainerFormat, Era, Fs, Role, VolumeSpec} from '../era/eras.js';
import {imagesUse, type UseReport} from '../attach/holders.js';
import {volumeFile} from '../volume/set.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {checkVolumeSize, formatBytes, parseSize, sizeArg} from '../volume/size.js';

export type Action =
  /** `smaller`: the volume is smaller than the size asked (or the era's default): named, reused as it is. */
  | {kind: 'reuse'; spec: VolumeSpec; path: string; inspection: Inspection; smaller?: {wanted: string; fix: string; size: string}}
  | {kind: 'create'; spec: VolumeSpec; path: string; sizeBytes: number; format: ContainerFormat; fs: Fs}
  | {kind: 'refuse'; spec: VolumeSpec; path: string; inspection: Inspection}
  /** A config volume the guest accepts but whose files differ from the values given: rewritten in place. */
  | {kind: 'refresh'; spec: VolumeSpec; path: string; inspection: Inspection; changed: string[]};

export interface PlanInput {
  era: Era;
  dir: string;
  hostname: string;
  /** Sizes by role, as typed (`5000G`); the era's default otherwise. */
  sizes: Partial<Record<Role, string>>;
  /** Container format for new data volumes; the era's otherwise. */
  format?: string;
  /** Filesystem for new data volumes; the era's debug one otherwise. */
  fs?: string;
  forceSmall: boolean;
  /** A file of the operator's choosing for a role, instead of upstream's name (the wizard's "use a new file name"). */
  paths?: Partial<Record<Role, string>>;
}

export interface Plan {
  era: Era;
  dir: string;
  actions: Action[];
}

export async function planSet(input: PlanInput): Promise<Plan> {
  const dir = resolve(input.dir);
  const files = input.era.volumes.map((spec) => fileOf(input, dir, spec));
  const use = await imagesUse(files.filter((f) => f.exists).map((f) => f.path)); // one /proc scan for the set
  const actions = await Promise.all(input.era.volumes.map((spec, i) => planOne(input, spec, files[i]!, use)));
  return {era: input.era, dir, actions};
}

/** The role's file: the one the operator chose, else as upstream names it (an existing one under the other extension is the set's as it is). */
function fileOf(input: PlanInput, dir: string, spec: VolumeSpec): {path: string; exists: boolean} {
  const chosen = input.paths?.[spec.role];
  if (chosen) return {path: resolve(dir, chosen), exists: existsSync(resolve(dir, chosen))};
  const wantedFormat = spec.role === 'config' || !input.format ? spec.newFormat : (input.format as ContainerFormat);
  return volumeFile(spec, dir, input.hostname, wantedFormat, !input.format);
}

async function planOne(input: PlanInput, spec: VolumeSpec, file: {path: string; exists: boolean}, use: Map<string, UseReport>): Promise<Action> {
  const isConfig = spec.role === 'config';
  const preferred = file.path;
  if (file.exists) {
    const inspection = await inspectVolume(preferred, {era: input.era, spec}, use.get(preferred));
    if (!inspection.accepted) return {kind: 'refuse', spec, path: preferred, inspection};
    // Reused as it is, but never silently when it is smaller than what was asked.
    const wanted = input.sizes[spec.role] ?? spec.defaultSize;
    const smaller = !isConfig && inspection.virtualSize !== undefined && inspection.virtualSize < parseSize(wanted);
    return smaller
      ? {kind: 'reuse', spec, path: preferred, inspection, smaller: {wanted: `${wanted}${input.sizes[spec.role] ? ' asked' : ` (the ${input.era.id} default)`}`, fix: `tdx-wizard resize ${preferred} ${wanted}`, size: wanted}}
      : {kind: 'reuse', spec, path: preferred, inspection};
  }
  const format = chooseFormat(spec, preferred, isConfig ? undefined : input.format);
  const sizeText = input.sizes[spec.role] ?? spec.defaultSize;
  const sizeBytes = parseSize(sizeText);
  if (!isConfig) checkVolumeSize(sizeBytes, sizeText, input.forceSmall);
  const fs = isConfig ? 'ext4' : chooseFs(input.era, spec, spec.label, input.fs);
  return {kind: 'create', spec, path: preferred, sizeBytes, format, fs};
}

/** Refusals first, all of them, as one UsageError: the operator fixes everything in one go. */
export function refusals(plan: Plan): UsageError | undefined {
  const refused = plan.actions.filter((a): a is Extract<Action, {kind: 'refuse'}> => a.kind === 'refuse');
  if (!refused.length) return undefined;
  const what = refused.map((a) => `${a.spec.role} volume ${a.path}: ${a.inspection.reason}`).join('; ');
  const fixes = refused.map((a) => (a.inspection.fix ? a.inspection.fix : `move ${a.path} aside and run prepare again to make a new one`)).join('; then ');
  return new UsageError(`an existing volume would not be accepted by the ${plan.era.id} guest, so nothing was changed: ${what}`, fixes);
}

/** One line per volume, for the plan and the result. */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'reuse':
      return `${action.spec.role.padEnd(10)} reuse   ${action.path} (${action.inspection.reason})${action.smaller ? `; it is ${formatBytes(action.inspection.virtualSize!)}, smaller than the ${action.smaller.wanted}: reused as it is (to grow it: ${action.smaller.fix})` : ''}`;
    case 'create':
      return `${action.spec.role.padEnd(10)} create  ${action.path} (${sizeArg(action.sizeBytes)}, ${action.format}, ${action.fs} labelled "${action.spec.label}")`;
    case 'refuse':
      return `${action.spec.role.padEnd(10)} refuse  ${action.path}: ${action.inspection.reason}`;
    case 'refresh':
      return `${action.spec.role.padEnd(10)} refresh ${action.path} (${action.changed.join(', ')} ${action.changed.length > 1 ? 'differ' : 'differs'} from the values given)`;
  }
}
