// The wizard's side of the volume set: which era to offer first, the plan for a directory and a
// hostname (read-only, safe to call while the operator edits), and the config volume's values as
// typed, checked by the guest's rules. The seed is read from a file here, never typed into a field.
import {existsSync} from 'node:fs';
import {basename, resolve} from 'node:path';
import {detectEra} from '../era/detect.js';
import {chooseEra} from '../era/choose.js';
import {findEra, type Era, type EraId, type Role} from '../era/eras.js';
import {UsageError} from '../errors.js';
import {checkConfigValues, type ConfigValues} from '../config-volume/values.js';
import {planSet, type Plan} from '../prepare/plan.js';
import {readSeedFile} from '../vm/launcher.js';
import type {Inspection} from '../volume/inspect.js';
import {formatBytes, sizeArg} from '../volume/size.js';
import {layoutFolders} from '../inventory/layout.js';
import {expandHome} from './validators.js';
import {labelWriter} from '../volume/label.js';

export interface EraChoice {
  era: Era;
  /** Where the era came from: the launcher's files, the settings, or the document's default. */
  source: 'launcher' | 'remembered' | 'default';
  /** `run-td has "--storage-volume": …`, when detected. */
  evidence?: string;
}

/** The launcher's files first (what will really start the VM), then the remembered era, then E4. */
export async function offeredEra(launcher: string | undefined, remembered: string | undefined): Promise<EraChoice> {
  const detected = launcher ? await detectEra(launcher).catch(() => undefined) : undefined;
  if (detected) return {era: detected.era, source: 'launcher', evidence: detected.evidence};
  const known = remembered ? findEra(remembered) : undefined;
  if (known) return {era: known, source: 'remembered'};
  return {era: chooseEra(), source: 'default'};
}

/** What the operator typed for the config volume: the seed as the path of a file that holds it. */
export interface ConfigInput {
  minerSs58: string;
  seedFile: string;
  vmIp: string;
  vmGateway: string;
  vmDns: string;
}

export interface SetInput {
  era: EraId;
  dir: string;
  hostname: string;
  /** Sizes by role, as typed; the era's defaults otherwise. */
  sizes: Partial<Record<Role, string>>;
  /** New file names for roles whose upstream-named file the guest would refuse. */
  paths?: Partial<Record<Role, string>>;
  config?: ConfigInput;
}

/**
 * Volumes under 100G only for tests (the CLI's --force-small): TDX_WIZARD_FORCE_SMALL=1. An
 * operator never needs it; a model cache that small fills at once.
 */
export function forceSmall(): boolean {
  return process.env.TDX_WIZARD_FORCE_SMALL === '1';
}

/**
 * The directory the set goes in: the one typed, or, when the field is empty, the layout's folder for
 * the VM (<root>/vault/<hostname>/: the config volume, which holds the seed, always goes there, and a
 * production guest encrypts its data volumes).
 */
export function setDir(typed: string, hostname: string): string {
  return typed.trim() ? resolve(expandHome(typed.trim())) : layoutFolders(hostname, 'vault').data;
}

export function planFor(input: SetInput): Promise<Plan> {
  const era = findEra(input.era) ?? chooseEra();
  return planSet({era, dir: input.dir, hostname: input.hostname, sizes: input.sizes, forceSmall: forceSmall(), ...(input.paths ? {paths: input.paths} : {})});
}

/** Field words for the checks' flag names: the form says "VM IP", not --vm-ip. */
const FIELD_WORDS: Record<string, string> = {
  '--hostname': 'Hostname',
  '--miner-ss58': 'Miner SS58',
  '--miner-seed-file': 'Seed file',
  '--vm-ip': 'VM IP',
  '--vm-gateway': 'Gateway',
  '--vm-dns': 'DNS',
};

/** The config volume's values, checked as the guest will; `warn` gets the seed file's mode warning. */
export function configValues(hostname: string, input: ConfigInput, warn: (text: string) => void): ConfigValues {
  const file = readSeedFile(input.seedFile);
  if (file.warning) warn(`${file.warning}: chmod 600 ${input.seedFile}`);
  const checked = checkConfigValues({hostname, minerSs58: input.minerSs58, minerSeed: file.seed, vmIp: input.vmIp, vmGateway: input.vmGateway, vmDns: input.vmDns});
  if (!checked.ok) {
    const lines = checked.errors.map((e) => `${FIELD_WORDS[e.flag] ?? e.flag}: ${e.message}`);
    throw new UsageError(lines.join('; '), checked.errors[0]!.fix);
  }
  for (const text of [...checked.notes, ...checked.warnings]) warn(text);
  return checked.value;
}

/** One volume of the set as the table shows it. */
export interface SetRow {
  role: Role;
  file: string;
  size: string;
  format: string;
  /** The filesystem and the label it carries (or will carry). */
  fs: string;
  status: 'reuse' | 'create' | 'problem';
}

export function setRows(plan: Plan): SetRow[] {
  return plan.actions.map((a) => {
    const file = basename(a.path);
    if (a.kind === 'create') return {role: a.spec.role, file, size: sizeArg(a.sizeBytes), format: a.format, fs: `${a.fs} "${a.spec.label}"`, status: 'create'};
    const i = a.inspection;
    const fs = i.filesystem === 'crypto_LUKS' ? 'LUKS' : (i.filesystem ?? '-');
    const size = i.virtualSize !== undefined ? `${formatBytes(i.virtualSize)}${a.kind === 'reuse' && a.smaller ? `, not ${a.smaller.wanted}` : ''}` : '-';
    return {role: a.spec.role, file, size, format: i.format ?? '-', fs: `${fs}${i.label ? ` "${i.label}"` : ''}`, status: a.kind === 'reuse' ? 'reuse' : 'problem'};
  });
}

/** Relabelling keeps the data (LABEL_WRITERS: e2label, xfs_admin, cryptsetup config), on a volume no VM uses. */
export function canRelabel(i: Inspection): boolean {
  return i.verdict === 'wrong-label' && labelWriter(i.filesystem) !== undefined && !i.inUse;
}

/** A free name beside a refused file for the "use a new file name" choice: cache-h-2.qcow2, cache-h-3.qcow2, … */
export function freshName(path: string): string {
  const dot = path.lastIndexOf('.');
  const [stem, ext] = dot > path.lastIndexOf('/') ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
  for (let n = 2; ; n++) if (!existsSync(`${stem}-${n}${ext}`)) return basename(`${stem}-${n}${ext}`);
}
