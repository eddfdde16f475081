// The launch fields and their checks. Each validator is a plain function from what the operator
// typed to a value or a message with a fix, so the wizard can check as they type. The upstream
// launcher checks almost nothing itself (upstream-sek8s.md §1.1): a bad value there means a VM
// that boots and then misbehaves, so everything is checked here first.
import {existsSync, readdirSync, statSync} from 'node:fs';
import {join, resolve} from 'node:path';
import type {Role} from '../era/eras.js';
import {decodeSs58} from './ss58.js';

export type FieldResult<T = string> = {ok: true; value: T; note?: string} | {ok: false; message: string; fix: string};
export type NetworkType = 'tap' | 'macvtap' | 'user';
export const NETWORK_TYPES: readonly NetworkType[] = ['tap', 'macvtap', 'user'];

const ok = <T>(value: T, note?: string): FieldResult<T> => (note ? {ok: true, value, note} : {ok: true, value});
const bad = <T = string>(message: string, fix: string): FieldResult<T> => ({ok: false, message, fix});

function existingFile(value: string, what: string, fix: string): FieldResult {
  const v = value.trim();
  if (!v || /[\x00-\x1f\x7f]/.test(v)) return bad(`the ${what} path is empty or has control characters`, fix);
  const path = resolve(v);
  let st;
  try {
    st = statSync(path);
  } catch {
    return bad(`the ${what} ${path} does not exist`, fix);
  }
  return st.isFile() ? ok(path) : bad(`the ${what} ${path} is not a regular file`, fix);
}

export const validateCacheVolume = (value: string): FieldResult =>
  existingFile(value, 'cache volume', 'give the qcow2 cache volume made with tdx-wizard create (tdx-wizard inspect <path> shows what a file holds)');

export const validateImage = (value: string): FieldResult => existingFile(value, 'guest image', 'give the path of the TDX guest image (.qcow2) you downloaded');

/** chutes-cvm (E6) takes the directory of an image set; what it must hold is checked before launch (src/volume/image-set.ts). */
export function validateImageSet(value: string): FieldResult {
  const v = value.trim();
  const fix = 'give the image-set directory chutes-cvm image download made, e.g. /var/lib/chutes/base-images/tdx-guest';
  if (!v || /[\x00-\x1f\x7f]/.test(v)) return bad('the guest image set path is empty or has control characters', fix);
  const path = resolve(v);
  let st;
  try {
    st = statSync(path);
  } catch {
    return bad(`the guest image set ${path} does not exist`, fix);
  }
  return st.isDirectory() ? ok(path) : bad(`the guest image ${path} is a file; chutes-cvm takes the image set's directory (the .qcow2 with its .vmlinuz, .initrd, .cmdline and manifest.json)`, fix);
}

export function validateHostname(value: string): FieldResult {
  const v = value.trim();
  const fix = 'use 1-63 characters: lower-case letters, digits and "-", not at the start or end (e.g. miner-01)';
  if (!v) return bad('the hostname is empty', fix);
  if (v.length > 63) return bad(`the hostname is ${v.length} characters long; a DNS label has at most 63`, fix);
  const wrong = /[^a-z0-9-]/.exec(v);
  if (wrong) return bad(`the hostname has ${JSON.stringify(wrong[0])} at position ${wrong.index + 1}; only a-z, 0-9 and "-" are allowed`, /[A-Z]/.test(wrong[0]) && !/[^a-z0-9-]/.test(v.toLowerCase()) ? `write it in lower case: ${v.toLowerCase()}` : fix);
  if (v.startsWith('-') || v.endsWith('-')) return bad('the hostname starts or ends with "-"', fix);
  return ok(v);
}

export function validateMinerSs58(value: string): FieldResult {
  const r = decodeSs58(value);
  if (!r.ok) return r;
  return ok(r.value.address, r.value.prefix === 42 ? undefined : `this is a ${r.value.network} address (prefix ${r.value.prefix}); Bittensor addresses use prefix 42`);
}

/** Never puts the seed, or any part of it, in a message. */
export function validateMinerSeed(value: string): FieldResult {
  const fix = 'give the 32-byte miner seed as 64 hex characters (without 0x)';
  let v = value.trim();
  let note: string | undefined;
  if (/^0x/i.test(v)) {
    v = v.slice(2);
    note = 'removed the "0x" in front of the miner seed: the launcher wants the bare 64 hex characters';
  }
  if (!v) return bad('the miner seed is empty', fix);
  const wrong = /[^0-9a-fA-F]/.exec(v);
  if (wrong) return bad(`the miner seed has a character that is not hex at position ${wrong.index + 1}`, fix);
  if (v.length !== 64) return bad(`the miner seed has ${v.length} hex characters; it needs exactly 64`, fix);
  return ok(v, note);
}

export function validateNetworkType(value: string): FieldResult<NetworkType> {
  const v = value.trim().toLowerCase();
  if ((NETWORK_TYPES as readonly string[]).includes(v)) return ok(v as NetworkType);
  return bad(`the network type ${JSON.stringify(value)} is not one of tap, macvtap, user`, 'tap (a host tap/bridge), macvtap (made by setup-macvtap.sh) or user (QEMU user networking, SSH forwarded)');
}

/** `sysRoot` is /sys on a real host; tests give a fake tree. */
export function validateNetIface(value: string, type: NetworkType, sysRoot = '/sys'): FieldResult {
  const v = value.trim();
  if (!v) return bad(`the network interface is empty; the ${type} network needs one`, type === 'macvtap' ? 'run setup-macvtap.sh and use the vmnet-… name it prints' : 'give the tap interface, e.g. tap0');
  if (v.length > 15 || /[\s/:]/.test(v) || v === '.' || v === '..') return bad(`${JSON.stringify(v)} is not a valid interface name (at most 15 characters, no spaces, "/" or ":")`, 'ip -br link lists the interfaces');
  if (type === 'macvtap' && !existsSync(join(sysRoot, 'class/net', v, 'macvtap'))) {
    const exists = existsSync(join(sysRoot, 'class/net', v));
    return bad(exists ? `${v} exists but is not a macvtap interface` : `there is no network interface ${v}`, 'run setup-macvtap.sh (it prints "--net-iface vmnet-XXXXXXXX") and use that name');
  }
  return ok(v);
}

/** The interfaces of a kind on this host: TUN/TAP devices (tun_flags) or macvtap ones. */
export function interfacesOf(type: NetworkType, sysRoot = '/sys'): string[] {
  const marker = type === 'macvtap' ? 'macvtap' : 'tun_flags';
  try {
    return readdirSync(join(sysRoot, 'class/net')).filter((name) => existsSync(join(sysRoot, 'class/net', name, marker))).sort();
  } catch {
    return [];
  }
}

export function parseIpv4(value: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1]!.length > 1 && m[i + 1]!.startsWith('0')))) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function validateIpv4(value: string, what = 'address'): FieldResult {
  const v = value.trim();
  if (parseIpv4(v) === undefined) return bad(`the ${what} ${JSON.stringify(v)} is not an IPv4 address`, 'write it as four numbers 0-255 without leading zeros, e.g. 192.168.100.2');
  return ok(v);
}

/** The launcher writes the VM's address as IP/24. */
export function validateVmIp(value: string): FieldResult {
  const r = validateIpv4(value, 'VM IP');
  if (!r.ok) return r;
  const last = parseIpv4(r.value)! & 0xff;
  if (last === 0 || last === 255) return bad(`${r.value} is the ${last ? 'broadcast' : 'network'} address of its /24, not a host address`, 'pick a host address, .1 to .254');
  return r;
}

/** Both are IPv4 addresses in the same /24 (the launchers make every VM network a /24). */
export function sameSlash24(a: string, b: string): boolean {
  const [x, y] = [parseIpv4(a), parseIpv4(b)];
  return x !== undefined && y !== undefined && x >>> 8 === y >>> 8;
}

export function validateGateway(value: string, vmIp: string): FieldResult {
  const r = validateIpv4(value, 'gateway');
  if (!r.ok) return r;
  const gw = parseIpv4(r.value)!;
  const ip = parseIpv4(vmIp);
  if (ip === undefined) return r;
  if (gw === ip) return bad(`the gateway ${r.value} is the VM's own address`, 'the gateway is the host side of the VM network (setup-macvtap.sh prints it)');
  if (!sameSlash24(r.value, vmIp)) {
    return bad(`the gateway ${r.value} is outside the VM's network ${vmIp.replace(/\.\d+$/, '.0')}/24, so the VM could not reach it`, 'use an address in the same /24 as the VM\'s IP, e.g. the host side printed by setup-macvtap.sh');
  }
  return r;
}

function integer(value: string, what: string, min: number, max: number, fix: string): FieldResult<number> {
  const v = value.trim();
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) return bad(`the ${what} ${JSON.stringify(v)} is not a whole number from ${min} to ${max}`, fix);
  return ok(Number(v));
}

export const validateSshPort = (value: string): FieldResult<number> => integer(value, 'SSH port', 1, 65535, 'give a port from 1 to 65535 (the launcher uses 2222 by default)');

/** The launcher turns N into cores=N,threads=2,sockets=2: the VM gets 4 x N vCPUs. */
export function validateVcpus(value: string): FieldResult<number> {
  const r = integer(value, 'vCPU count', 1, 256, 'give a whole number; the launcher default is 24 (96 vCPUs in the VM)');
  return r.ok ? ok(r.value, `the VM gets ${r.value * 4} vCPUs (${r.value} cores x 2 threads x 2 sockets)`) : r;
}

export function validateMem(value: string): FieldResult {
  const v = value.trim().toUpperCase();
  // A bare number means bytes to the memfd backend but MiB to -m: the launcher passes it to both.
  if (!/^[1-9]\d*[MGT]$/.test(v)) return bad(`the memory size ${JSON.stringify(value.trim())} needs a whole number and a unit M, G or T`, 'e.g. 1536G (the launcher default) or 512G');
  return ok(v);
}

/** Flags the wizard sets itself, or that would turn the launch into something else. */
const NOT_EXTRA: Record<string, string> = {
  '--miner-seed': 'the seed would be outside the wizard\'s masking; use --miner-seed-file or TDX_MINER_SEED',
  '--status': 'use tdx-wizard status',
  '--clean': 'use tdx-wizard stop',
  '--help': 'run the launcher with --help yourself',
  '--foreground': 'the wizard runs the VM in the background and follows its serial log (tdx-wizard logs --follow)',
};
export const NAMED_FLAGS = ['--cache-volume', '--storage-volume', '--containerd-volume', '--config-volume', '--hostname', '--miner-ss58', '--network-type', '--net-iface', '--vm-ip', '--vm-gateway', '--vm-dns', '--ssh-port', '--image', '--vcpus', '--mem'];

export function validateExtraFlags(extra: readonly string[]): FieldResult<string[]> {
  for (const arg of extra) {
    const flag = arg.split('=')[0]!;
    if (NOT_EXTRA[flag]) return bad(`${flag} cannot be passed through to the launcher`, NOT_EXTRA[flag]!);
    if (NAMED_FLAGS.includes(flag)) return bad(`${flag} was given as an extra flag`, `give it as the wizard's own ${flag} option, before "--"`);
  }
  return ok([...extra]);
}

export interface LaunchFields {
  cacheVolume: string;
  hostname?: string;
  minerSs58?: string;
  minerSeed?: string;
  networkType: NetworkType;
  netIface?: string;
  vmIp?: string;
  vmGateway?: string;
  vmDns?: string;
  sshPort?: number;
  image?: string;
  vcpus?: number;
  mem?: string;
  extra: string[];
  /** Every volume by role, for the launchers after E1 (E1 reads cacheVolume alone). Absolute paths. */
  volumes?: Partial<Record<Role, string>>;
}

export type LaunchInput = {[K in Exclude<keyof LaunchFields, 'extra' | 'volumes'>]?: string} & {extra?: readonly string[]};
export interface FieldError {
  flag: string;
  message: string;
  fix: string;
}

/**
 * Checks field after field, collecting every error (with its flag) and note: `take` returns the
 * checked value, or undefined when it is missing or wrong. `required` true, or the words that say
 * when it is required.
 */
export function fieldCollector() {
  const errors: FieldError[] = [];
  const notes: string[] = [];
  const take = <T>(flag: string, raw: string | undefined, check: (v: string) => FieldResult<T>, required: string | boolean): T | undefined => {
    if (raw === undefined || raw.trim() === '') {
      if (required) errors.push({flag, message: `${flag} is required${required === true ? '' : ` ${required}`}`, fix: `pass ${flag}`});
      return undefined;
    }
    const r = check(raw);
    if (!r.ok) errors.push({flag, message: r.message, fix: r.fix});
    else if (r.note) notes.push(r.note);
    return r.ok ? r.value : undefined;
  };
  return {errors, notes, take};
}

/** Every field at once, with the rules the launcher applies between them (upstream-sek8s.md §1.1). */
export function checkLaunchFields(input: LaunchInput, sysRoot = '/sys'): {ok: true; value: LaunchFields; notes: string[]} | {ok: false; errors: FieldError[]} {
  const {errors, notes, take} = fieldCollector();
  const extraResult = validateExtraFlags(input.extra ?? []);
  if (!extraResult.ok) errors.push({flag: '--', message: extraResult.message, fix: extraResult.fix});
  const extra = extraResult.ok ? extraResult.value : [];
  const userData = extra.some((a) => a.startsWith('--cloud-init-user-data'));
  const netConfig = extra.some((a) => a.startsWith('--cloud-init-network-config'));
  const credentials = userData ? false : 'unless you pass --cloud-init-user-data';
  const givenType = take('--network-type', input.networkType ?? 'tap', validateNetworkType, true);
  const networkType = givenType ?? 'tap';
  const vmIp = take('--vm-ip', input.vmIp, validateVmIp, netConfig ? false : 'unless you pass --cloud-init-network-config');
  const fields: LaunchFields = {
    cacheVolume: take('--cache-volume', input.cacheVolume, validateCacheVolume, 'the guest powers off without its tdx-cache volume') ?? '',
    hostname: take('--hostname', input.hostname, validateHostname, credentials),
    minerSs58: take('--miner-ss58', input.minerSs58, validateMinerSs58, credentials),
    minerSeed: take('--miner-seed-file', input.minerSeed, validateMinerSeed, credentials && '(or TDX_MINER_SEED, or the prompt on a terminal)'),
    networkType,
    // No interface is required of a network type that is itself wrong: one error, not two.
    netIface: take('--net-iface', input.netIface, (v) => validateNetIface(v, networkType, sysRoot), networkType === 'user' || !givenType ? false : `for the ${networkType} network`),
    vmIp,
    vmGateway: take('--vm-gateway', input.vmGateway, (v) => validateGateway(v, vmIp ?? ''), netConfig ? false : 'unless you pass --cloud-init-network-config'),
    vmDns: take('--vm-dns', input.vmDns, (v) => validateIpv4(v, 'DNS server'), false),
    sshPort: take('--ssh-port', input.sshPort, validateSshPort, false),
    image: take('--image', input.image, validateImage, false),
    vcpus: take('--vcpus', input.vcpus, validateVcpus, false),
    mem: take('--mem', input.mem, validateMem, false),
    extra,
  };
  if (networkType === 'user' && input.netIface) notes.push('--net-iface is ignored with the user network');
  return errors.length ? {ok: false, errors} : {ok: true, value: fields, notes};
}
