// Reads a config volume back, from the qcow2 file itself (src/disk/qcow2.ts and ext4-read.ts): no
// root, no attach, nothing written. Says what the guest will find there and whether it will accept
// it, by the guest's own rules (process-config.py strips each file and checks it; the initramfs
// reads the netplan file line by line). The seed is never returned or shown: only whether it is
// there and valid.
import {openImage} from '../disk/qcow2.js';
import {probeVolume, type ProbeType} from '../disk/probe.js';
import {CONFIG_LABEL} from '../era/eras.js';
import {parseIpv4, validateMinerSeed} from '../vm/fields.js';
import {readExt4Root, type Ext4Entry} from './ext4-read.js';
import {netplan, type ConfigFile} from './render.js';
import {checkSs58} from './values.js';

export interface ConfigFileInfo {
  name: string;
  /** Permission bits only (0644, 0600). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  type: 'file' | 'directory' | 'other';
}

export interface ConfigReadback {
  path: string;
  type: ProbeType;
  label?: string;
  uuid?: string;
  files: ConfigFileInfo[];
  /** The root directory itself: upstream's is a fresh mkfs root, 0755 root:root. */
  root?: ConfigFileInfo;
  hasLostFound: boolean;
  values: {hostname?: string; minerSs58?: string; vmIp?: string; vmGateway?: string; vmDns?: string; dockerHubUsername?: string};
  seed: {present: boolean; valid: boolean; problem?: string};
  /** Why the guest would refuse it (empty: it will accept it), or where it differs from what was expected. */
  problems: string[];
}

const REQUIRED = ['hostname', 'miner-ss58', 'miner-seed', 'network-config.yaml'];

const info = (e: Ext4Entry): ConfigFileInfo => ({name: e.name, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, size: e.size, type: e.isFile ? 'file' : e.isDirectory ? 'directory' : 'other'});

/** process-config.py's validate_hostname, exactly: it accepts upper case, unlike the launch form. */
function guestHostnameProblem(h: string): string | undefined {
  if (h.length > 63) return `the hostname in the volume is ${h.length} characters long; the guest takes at most 63`;
  if (!/^[a-zA-Z0-9-]+$/.test(h)) return 'the hostname in the volume has characters other than letters, digits and "-"; the guest refuses it';
  if (h.startsWith('-') || h.endsWith('-')) return 'the hostname in the volume starts or ends with "-"; the guest refuses it';
  return undefined;
}

/** process-config.py's validate_seed_content; the message never holds the seed. */
function guestSeedProblem(seed: string): string | undefined {
  if (/^0x/i.test(seed)) return 'the miner seed in the volume starts with 0x; the guest refuses it';
  const r = validateMinerSeed(seed);
  return r.ok ? undefined : `${r.message.replace('the miner seed', 'the miner seed in the volume')}; the guest refuses it`;
}

/** The netplan values, read as the initramfs does (the address after "addresses:", the gateway after "via:"). */
function parseNetplan(text: string): {vmIp?: string; vmGateway?: string; vmDns?: string} {
  const ip = /^\s+addresses:\n\s+- ([0-9.]+)\/24$/m.exec(text)?.[1];
  const gw = /^\s+via: ([0-9.]+)$/m.exec(text)?.[1];
  const dns = /nameservers:\n\s+addresses:\n\s+- ([0-9.]+)$/m.exec(text)?.[1];
  return {...(ip ? {vmIp: ip} : {}), ...(gw ? {vmGateway: gw} : {}), ...(dns ? {vmDns: dns} : {})};
}

/**
 * Reads the config volume at `path`. With `expected` (the files just written), every file must be
 * there byte for byte with its mode, owned by root, and nothing else but lost+found.
 */
export async function readConfigVolume(path: string, expected?: readonly ConfigFile[]): Promise<ConfigReadback> {
  const image = await openImage(path, {format: 'qcow2'});
  const result: ConfigReadback = {path, type: 'unknown', files: [], hasLostFound: false, values: {}, seed: {present: false, valid: false}, problems: []};
  const problems = result.problems;
  try {
    const probe = await probeVolume(image);
    Object.assign(result, {type: probe.type, ...(probe.label !== undefined ? {label: probe.label} : {}), ...(probe.uuid ? {uuid: probe.uuid} : {})});
    if (probe.type !== 'ext4') {
      problems.push(`it holds ${probe.type === 'empty' ? 'no filesystem' : probe.type}, not ext4: the guest mounts its config volume as ext4`);
      return result;
    }
    if (probe.label !== CONFIG_LABEL) problems.push(`its label is "${probe.label ?? ''}", not "${CONFIG_LABEL}": the guest looks for its config volume by that label`);
    const fs = await readExt4Root(image);
    result.files = fs.entries.map(info);
    result.root = info(fs.root);
    result.hasLostFound = fs.entries.some((e) => e.name === 'lost+found' && e.isDirectory);
    const text = new Map<string, string>();
    for (const entry of fs.entries.filter((e) => e.isFile)) text.set(entry.name, (await fs.read(entry)).toString('utf8'));
    for (const name of REQUIRED) if (!text.has(name)) problems.push(`${name} is missing: the guest powers off without it`);

    const hostname = text.get('hostname')?.trim();
    if (hostname !== undefined) {
      result.values.hostname = hostname;
      const p = guestHostnameProblem(hostname);
      if (p) problems.push(p);
    }
    const ss58 = text.get('miner-ss58')?.trim();
    if (ss58 !== undefined) {
      result.values.minerSs58 = ss58;
      const r = checkSs58(ss58);
      if (!r.ok) problems.push(`miner-ss58: ${r.message}`);
    }
    const seed = text.get('miner-seed');
    if (seed !== undefined) {
      const p = guestSeedProblem(seed.trim());
      result.seed = {present: true, valid: !p, ...(p ? {problem: p} : {})};
      if (p) problems.push(p);
    }
    const net = text.get('network-config.yaml');
    if (net !== undefined) {
      result.values = {...result.values, ...parseNetplan(net)};
      const {vmIp, vmGateway, vmDns} = result.values;
      if (!vmIp || !vmGateway || !vmDns || [vmIp, vmGateway, vmDns].some((a) => parseIpv4(a) === undefined) || net !== netplan(vmIp, vmGateway, vmDns)) {
        problems.push('network-config.yaml is not in the layout create-config.sh writes: the initramfs reads it line by line and would miss the address or gateway');
      }
    }
    if (text.has('docker-hub-username')) result.values.dockerHubUsername = text.get('docker-hub-username');
    if (expected) problems.push(...differences(result, text, expected));
    return result;
  } finally {
    await image.close();
  }
}

// Contents are compared here and dropped: only the names of what differs leave this file.
function differences(found: ConfigReadback, text: Map<string, string>, expected: readonly ConfigFile[]): string[] {
  const out: string[] = [];
  const extra = found.files.filter((f) => f.name !== 'lost+found' && !expected.some((e) => e.name === f.name));
  if (extra.length) out.push(`unexpected entries: ${extra.map((f) => f.name).join(', ')}`);
  if (!found.hasLostFound) out.push('lost+found is missing');
  const root = found.root;
  if (root && (root.mode !== 0o755 || root.uid !== 0 || root.gid !== 0)) out.push(`the root directory is ${root.mode.toString(8).padStart(4, '0')} ${root.uid}:${root.gid}, not 0755 0:0`);
  for (const want of expected) {
    const file = found.files.find((f) => f.name === want.name);
    if (!file) continue; // already said: missing
    if (text.get(want.name) !== want.content) out.push(`${want.name} does not hold what was written`);
    if (file.mode !== want.mode) out.push(`${want.name} has mode ${file.mode.toString(8).padStart(4, '0')}, not ${want.mode.toString(8).padStart(4, '0')}`);
    if (file.uid !== 0 || file.gid !== 0) out.push(`${want.name} is owned by ${file.uid}:${file.gid}, not root (0:0)`);
  }
  return out;
}
