// What `prepare` will do for each volume of an era's set, decided before anything is touched:
// reuse a volume the guest already accepts, create a missing one, or refuse the whole run when an
// existing file is wrong (with its fix). A refusal changes nothing on disk.
import {existsSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {UsageError} from '../errors.js';
import {chooseFormat, chooseFs} from '../era/choose.js';
import {defaultFileName, type ContainerFormat, type Era, type Fs, type Role, type VolumeSpec} from '../era/eras.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {checkVolumeSize, parseSize, sizeArg} from '../volume/size.js';

export type Action =
  | {kind: 'reuse'; spec: VolumeSpec; path: string; inspection: Inspection}
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
  const actions = await Promise.all(input.era.volumes.map((spec) => planOne(input, dir, spec)));
  return {era: input.era, dir, actions};
}

async function planOne(input: PlanInput, dir: string, spec: VolumeSpec): Promise<Action> {
  const isConfig = spec.role === 'config';
  // The file as upstream names it; an existing one under the other extension is the set's as it is.
  const wantedFormat = isConfig || !input.format ? spec.newFormat : (input.format as ContainerFormat);
  const chosen = input.paths?.[spec.role];
  const preferred = chosen ? resolve(dir, chosen) : join(dir, defaultFileName(spec, input.hostname, wantedFormat));
  const other = join(dir, defaultFileName(spec, input.hostname, wantedFormat === 'qcow2' ? 'raw' : 'qcow2'));
  const existing = existsSync(preferred) ? preferred : !chosen && !input.format && existsSync(other) ? other : undefined;
  if (existing) {
    const inspection = await inspectVolume(existing, {era: input.era, spec});
    return inspection.accepted ? {kind: 'reuse', spec, path: existing, inspection} : {kind: 'refuse', spec, path: existing, inspection};
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
      return `${action.spec.role.padEnd(10)} reuse   ${action.path} (${action.inspection.reason})`;
    case 'create':
      return `${action.spec.role.padEnd(10)} create  ${action.path} (${sizeArg(action.sizeBytes)}, ${action.format}, ${action.fs} labelled "${action.spec.label}")`;
    case 'refuse':
      return `${action.spec.role.padEnd(10)} refuse  ${action.path}: ${action.inspection.reason}`;
    case 'refresh':
      return `${action.spec.role.padEnd(10)} refresh ${action.path} (${action.changed.join(', ')} ${action.changed.length > 1 ? 'differ' : 'differs'} from the values given)`;
  }
}
