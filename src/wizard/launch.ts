// The wizard's launch form, built from the era's adapter: one field per volume of the era's set
// (offered from the prepared set) and one per launch option the adapter takes (`options`), so a
// run-td guest is never asked for credentials it reads from its config volume. The values are
// checked by the adapter's own checkFields, as `tdx-wizard launch` checks them.
import {existsSync, statSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {detectEra, detectEraSync} from '../era/detect.js';
import {findEra, type Era, type Role} from '../era/eras.js';
import {DEFAULT_DNS} from '../config-volume/values.js';
import type {Settings} from '../settings.js';
import {adapterFor, type FieldCheck, type LauncherAdapter, type OptionKey} from '../vm/adapters/index.js';
import {hostRoots} from '../host/roots.js';
import {
  interfacesOf, validateGateway, validateHostname, validateImage, validateImageSet, validateIpv4, validateMem, validateMinerSeed, validateMinerSs58, validateNetIface, validateSshPort,
  validateVcpus, validateVmIp, type FieldResult, type LaunchInput, type NetworkType,
} from '../vm/fields.js';
import {readSeedFile, resolveLauncher} from '../vm/launcher.js';
import {defaultLauncherPath} from '../vm/launcher-file.js';
import {defaultVolumePath} from './defaults.js';
import {offeredEra} from './set.js';
import {expandHome, resolvedHint, resolvePath, type Validation} from './validators.js';

/** A form field as components/Form.tsx takes it. */
export interface LaunchField {
  name: string;
  label: string;
  initial?: string;
  hint?: string | ((value: string) => string | undefined);
  secret?: boolean;
  /** A fixed set of values (the form shows a choice, not a text field). */
  choices?: readonly string[];
  validate?: (value: string, values: Readonly<Record<string, string>>) => Validation;
}

export interface LaunchPage {
  intro: string;
  fields: LaunchField[];
}

export interface LaunchForm {
  era: Era;
  pages: LaunchPage[];
}

const asValidation = (r: FieldResult<unknown>): Validation => (r.ok ? {ok: true} : {ok: false, message: r.message, fix: r.fix});
const optional = (check: (v: string) => FieldResult<unknown>) => (v: string): Validation => (v.trim() === '' ? {ok: true} : asValidation(check(v)));
const sysRoot = () => hostRoots().sys;

/** Who the miner is: asked only of a launcher that takes credentials (E1's cloud-init). */
const IDENTITY: readonly OptionKey[] = ['hostname', 'minerSs58', 'minerSeed'];
/** The network and the VM, in the order the form has always asked them. */
const MACHINE: readonly OptionKey[] = ['networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'];

/** What this run of the wizard already knows and the settings never hold: the seed file given for the config volume. */
export interface SessionValues {
  seedFile?: string;
}

/** The seed from the file given in this run, for the form (masked, in memory only); nothing when it cannot be read. */
function seedFrom(file?: string): string | undefined {
  if (!file) return undefined;
  try {
    return readSeedFile(file).seed;
  } catch {
    return undefined; // the field is then asked as usual
  }
}

function optionField(key: OptionKey, s: Partial<Settings>, adapter: LauncherAdapter, session: SessionValues = {}): LaunchField | undefined {
  const types = adapter.networkTypes;
  switch (key) {
    case 'hostname':
      return {name: key, label: 'Hostname', initial: s.hostname ?? '', validate: (v) => asValidation(validateHostname(v))};
    case 'minerSs58':
      return {name: key, label: 'Miner SS58', initial: s.minerSs58 ?? '', validate: (v) => asValidation(validateMinerSs58(v))};
    case 'minerSeed': {
      const seed = seedFrom(session.seedFile);
      const hint = seed ? `read from ${session.seedFile}, given for the config volume; never shown, never stored` : '64 hex characters; never shown, never stored';
      return {name: key, label: 'Miner seed', secret: true, ...(seed ? {initial: seed} : {}), hint, validate: (v) => asValidation(validateMinerSeed(v))};
    }
    case 'networkType': {
      const initial = s.networkType && types.includes(s.networkType) ? s.networkType : types[0]!;
      return {name: key, label: 'Network type', initial, choices: types, hint: `the network types this launcher takes: ${types.join(', ')}`};
    }
    case 'netIface':
      return {
        name: key,
        label: 'Interface',
        initial: s.netIface ?? '',
        // Where the interface comes from differs by launcher; macvtap is the mark of run-tdx.sh's setup-macvtap.sh.
        hint: types.includes('macvtap') ? 'tap/macvtap: e.g. vmnet-12345678 from setup-macvtap.sh' : 'tap: vmtap0 on br0 (upstream setup-bridge.sh makes it); empty for user',
        validate: (v, all) => checkInterface(v, (all.networkType || types[0]!) as NetworkType),
      };
    case 'vmIp':
      return {name: key, label: 'VM IP', initial: s.vmIp ?? '', validate: optional(validateVmIp)};
    case 'vmGateway':
      return {name: key, label: 'Gateway', initial: s.vmGateway ?? '', validate: (v, all) => (v.trim() ? asValidation(validateGateway(v, all.vmIp ?? '')) : {ok: true})};
    case 'vmDns':
      return {name: key, label: 'DNS', initial: s.vmDns ?? DEFAULT_DNS, validate: optional((v) => validateIpv4(v, 'DNS server'))};
    case 'sshPort':
      return {name: key, label: 'SSH port', initial: s.sshPort ?? '', hint: "forwarded to the guest's SSH with the user network; empty: the launcher's default", validate: optional(validateSshPort)};
    case 'image':
      return adapter.imageKind === 'image-set'
        ? {name: key, label: 'Guest image set', initial: s.image ?? '', hint: resolvedHint('the image-set directory (chutes-cvm image download); empty: /var/lib/chutes/base-images/tdx-guest'), validate: optional((v) => validateImageSet(resolvePath(v)))}
        : {name: key, label: 'Guest image', initial: s.image ?? '', hint: resolvedHint('the TDX guest image (tdx-guest.qcow2); empty: the launcher default, where it has one'), validate: optional((v) => validateImage(resolvePath(v)))};
    case 'vcpus':
      return {name: key, label: 'vCPUs', initial: '', hint: 'cores per socket, the VM gets 4 x n; empty: launcher default 24', validate: optional(validateVcpus)};
    case 'mem':
      return {name: key, label: 'Memory', initial: '', hint: 'e.g. 1536G; empty: launcher default', validate: optional(validateMem)};
    case 'minerSeedFile':
      return undefined; // the CLI's way to the seed; the form asks for the seed itself, masked
  }
}

/**
 * The interface the network type needs: none for user networking; for tap and macvtap a name that
 * exists on this host (QEMU would otherwise make a TAP attached to nothing), with the ones that do
 * exist offered.
 */
function checkInterface(value: string, type: NetworkType): Validation {
  if (type === 'user') return value.trim() ? {ok: false, message: 'user networking takes no interface', fix: 'leave it empty, or choose tap above'} : {ok: true};
  const r = validateNetIface(value, type, sysRoot());
  if (!r.ok) return {ok: false, message: r.message, fix: withOffer(r.fix, type)};
  if (!existsSync(join(sysRoot(), 'class/net', r.value))) return {ok: false, message: `there is no network interface ${r.value} on this host`, fix: withOffer('make it first (upstream\'s setup-bridge.sh or setup-macvtap.sh), or choose user networking', type)};
  return {ok: true};
}

/** A fix followed by the interfaces of that kind that exist now. */
function withOffer(fix: string, type: NetworkType): string {
  const found = interfacesOf(type, sysRoot());
  return found.length ? `${fix}; ${type} interfaces here: ${found.join(', ')}` : `${fix}; this host has no ${type} interface yet`;
}

/** A launcher file of the form's era, in the field's own words (not the CLI's flags). */
function checkLauncherFile(value: string, era: Era): Validation {
  const fix = `give the path of the upstream ${era.launcherFile} of ${era.id} (${era.when})`;
  const v = expandHome(value);
  if (!v) return {ok: false, message: `the path of ${era.launcherFile} is empty`, fix};
  const path = resolve(v);
  let st;
  try {
    st = statSync(path);
  } catch {
    return {ok: false, message: `there is no file at ${path}`, fix};
  }
  if (!st.isFile()) return {ok: false, message: `${path} is not a file`, fix};
  if (!(st.mode & 0o111)) return {ok: false, message: `${path} is not executable`, fix: `chmod +x ${path}`};
  const found = detectEraSync(path);
  if (found && found.era.id !== era.id) return {ok: false, message: `${path} is a launcher of ${found.era.id} (${found.evidence}), not of ${era.id}`, fix: `${fix}, or go back and choose ${found.era.id}`};
  if (!found && era.signatures.length) return {ok: false, message: `${path} is not recognised as the ${era.id} launcher: it and the files beside it carry none of its marks (e.g. "${era.signatures[0]!.text}")`, fix};
  return {ok: true};
}

function existingVolume(role: Role) {
  return (value: string): Validation => {
    const path = resolvePath(value);
    const fix = `give the ${role} volume of the prepared set (tdx-wizard verify --dir DIR --hostname H lists it)`;
    if (!value.trim()) return {ok: false, message: `the ${role} volume is empty`, fix};
    try {
      return statSync(path).isFile() ? {ok: true} : {ok: false, message: `the ${role} volume ${path} is not a regular file`, fix};
    } catch {
      return {ok: false, message: `the ${role} volume ${path} does not exist`, fix};
    }
  };
}

const capital = (text: string) => text[0]!.toUpperCase() + text.slice(1);

/** The set's file for a role: remembered by prepare or the last launch; E1's cache volume by its old setting. */
function rememberedVolume(role: Role, s: Partial<Settings>): string {
  return s.volumes?.[role] ?? (role === 'cache' ? (s.volumePath ?? defaultVolumePath(s.launcherPath)) : '');
}

export function launchPages(era: Era, s: Partial<Settings>, cwd = process.cwd(), session: SessionValues = {}): LaunchPage[] {
  const adapter = adapterFor(era);
  const pick = (keys: readonly OptionKey[]) => keys.filter((k) => adapter.options.includes(k)).map((k) => optionField(k, s, adapter, session)).filter((f): f is LaunchField => f !== undefined);
  const launcher: LaunchField = {
    name: 'launcher',
    label: 'Launcher',
    initial: s.launcherPath ?? defaultLauncherPath(cwd, era),
    hint: resolvedHint(`the upstream ${era.launcherFile} of ${era.id} (${era.title})`),
    validate: (v) => checkLauncherFile(v, era),
  };
  const volumes = era.volumes.map((spec): LaunchField => ({name: `volume:${spec.role}`, label: `${capital(spec.role)} volume`, initial: rememberedVolume(spec.role, s), hint: resolvedHint(`labelled "${spec.label}"`), validate: existingVolume(spec.role)}));
  const identity = pick(IDENTITY);
  const machine = pick(MACHINE);
  const first = `the launcher, the volume${volumes.length > 1 ? 's' : ''}${identity.length ? ' and the miner' : ''}`;
  const second = `the network (${adapter.networkTypes.join(', ')})${machine.some((f) => f.name === 'image') ? ' and the guest image' : ''}`;
  return [
    {intro: `Step 1 of 2: ${first}.`, fields: [launcher, ...volumes, ...identity]},
    {intro: `Step 2 of 2: ${second}.`, fields: machine},
  ];
}

/**
 * The era the form is for. In first-time setup, the era the set was just prepared for; otherwise
 * the launcher's (read from its files), else the remembered one, else E4.
 */
export async function launchForm(s: Partial<Settings>, setup: boolean, cwd = process.cwd(), session: SessionValues = {}): Promise<LaunchForm> {
  const chosen = setup && s.era ? findEra(s.era) : undefined;
  const era = chosen ?? (await offeredEra(s.launcherPath ?? defaultLauncherPath(cwd, findEra(s.era)), s.era)).era;
  return {era, pages: launchPages(era, s, cwd, session)};
}

export type LaunchCheck = {ok: true; launcher: string; check: Extract<FieldCheck, {ok: true}>} | {ok: false; message: string; fix?: string};

/**
 * The launcher (a file of the form's era: a launcher of another era would not pass this set as
 * its guest needs) and every field, as the adapter checks them.
 */
export async function checkLaunch(era: Era, values: Record<string, string>, sysRoot: string): Promise<LaunchCheck> {
  let launcher: string;
  try {
    launcher = resolveLauncher(values.launcher?.trim() ? resolvePath(values.launcher) : undefined);
  } catch (error) {
    return {ok: false, message: (error as Error).message, fix: (error as {fix?: string}).fix};
  }
  const found = await detectEra(launcher);
  if (found && found.era.id !== era.id) {
    return {
      ok: false,
      message: `${launcher} is a launcher of ${found.era.id} (${found.evidence}), not of ${era.id}: it would not pass the ${era.id} guest its volumes as it needs them`,
      fix: `give the ${era.launcherFile} of ${era.id} (${era.when}), or run first-time setup again and choose ${found.era.id} for this launcher`,
    };
  }
  const volumes = Object.fromEntries(era.volumes.flatMap((spec) => (values[`volume:${spec.role}`]?.trim() ? [[spec.role, resolvePath(values[`volume:${spec.role}`]!)]] : [])));
  const input: LaunchInput = {};
  for (const key of ['hostname', 'minerSs58', 'minerSeed', 'networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'] as const) {
    if (values[key] !== undefined) input[key] = key === 'image' && values[key].trim() ? resolvePath(values[key]) : values[key];
  }
  const check = adapterFor(era).checkFields({...input, cacheVolume: volumes.cache, volumes}, sysRoot);
  if (!check.ok) return {ok: false, message: check.errors.map((e) => `${e.flag}: ${e.message}`).join('; '), fix: check.errors[0]?.fix};
  return {ok: true, launcher, check};
}
