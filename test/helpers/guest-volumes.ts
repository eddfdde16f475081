// Volumes for the guest tests: made by the wizard as it is (the built CLI), or by plain mkfs /
// cryptsetup on sparse raw files for what the wizard cannot make yet (storage, XFS, raw, LUKS2),
// and the config volume by hand as upstream-eras.md §4 describes it.
import {mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {runCli} from './cli.js';
import {requireGuestTools} from './guest-tools.js';
import {sh} from './tools.js';
import {netplan} from '../../src/config-volume/render.js';
import {DEFAULT_DNS, DEFAULT_GATEWAY, DEFAULT_VM_IP} from '../../src/config-volume/values.js';
import {makeVolume, type VolumeSpec} from './volumes.js';

/** `tdx-wizard create PATH 1G --force-small [args]`; throws with the CLI's output if it fails. */
export function wizardVolume(dir: string, name: string, args: string[] = []): string {
  const path = join(dir, name);
  const r = runCli(['create', path, '1G', '--force-small', ...args], {env: {TDX_WIZARD_STATE_DIR: join(dir, 'state'), CI: 'true'}});
  if (r.code !== 0) throw new Error(`tdx-wizard create failed (${r.code}): ${r.stdout}${r.stderr}`);
  return path;
}

/** mkfs.ext4 / mkfs.xfs / cryptsetup luksFormat --type luks2 --label on a sparse raw file (then qcow2 if asked). */
export function plainVolume(dir: string, name: string, spec: VolumeSpec): string {
  requireGuestTools('qemu-img', 'mkfs.ext4', ...(spec.fs === 'xfs' ? ['mkfs.xfs'] : []), ...(spec.fs.startsWith('luks') ? ['cryptsetup'] : []));
  // XFS needs 300M at least; the rest stays small (sparse either way).
  return makeVolume(dir, name, {size: spec.fs === 'xfs' ? '512M' : '64M', ...spec});
}

export const VALID_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
export const VALID_SEED = 'a'.repeat(32) + '0123456789abcdef0123456789ABCDEF';

/** create-config.sh's netplan file (the product's renderer, checked against upstream's heredoc in test/config-volume-values.test.ts). */
export function networkConfig(ip = DEFAULT_VM_IP, gateway = DEFAULT_GATEWAY, dns = DEFAULT_DNS): string {
  return netplan(ip, gateway, dns);
}

export interface ConfigFiles {
  hostname?: string;
  ss58?: string;
  seed?: string;
  network?: string;
}

/**
 * The config volume as create-config.sh makes it: a 10M whole-disk ext4 labelled tdx-config
 * (mkfs.ext4 -d fills it from a directory), converted to qcow2. Each file ends in a newline (echo).
 * A field set to undefined is left out.
 */
export function configVolume(dir: string, name: string, files: ConfigFiles = {}, opts: {label?: string; format?: 'qcow2' | 'raw'} = {}): string {
  requireGuestTools('qemu-img', 'mkfs.ext4');
  const all = {hostname: 'miner-01', ss58: VALID_SS58, seed: VALID_SEED, network: networkConfig(), ...files};
  const src = join(dir, `${name}.d`);
  mkdirSync(src);
  const put = (file: string, text: string | undefined, mode: number) => text !== undefined && writeFileSync(join(src, file), text, {mode});
  put('hostname', all.hostname === undefined ? undefined : `${all.hostname}\n`, 0o644);
  put('miner-ss58', all.ss58 === undefined ? undefined : `${all.ss58}\n`, 0o600);
  put('miner-seed', all.seed === undefined ? undefined : `${all.seed}\n`, 0o600);
  put('network-config.yaml', all.network, 0o644);
  const raw = join(dir, `${name}.raw`);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, '10M']);
  sh('mkfs.ext4', ['-q', '-F', '-L', opts.label ?? 'tdx-config', '-d', src, raw]);
  rmSync(src, {recursive: true});
  if ((opts.format ?? 'qcow2') === 'raw') return raw;
  const out = join(dir, name);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  rmSync(raw);
  return out;
}
