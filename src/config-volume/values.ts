// The values a config volume carries, checked by the rules of the guest that reads them
// (process-config.py, the initramfs, quick-launch's schema): a value the guest refuses makes the VM
// power off at boot (config-manager.service has FailureAction=poweroff-force), long after the
// volume was made. The field checks are the launch form's own (src/vm/fields.ts).
import {fieldCollector, parseIpv4, validateHostname, validateIpv4, validateMinerSeed, validateMinerSs58, validateVmIp, type FieldError, type FieldResult} from '../vm/fields.js';

/** The network upstream's quick-launch.sh gives the VM when none is given; DNS is create-config.sh's default too. */
export const DEFAULT_VM_IP = '192.168.100.2';
export const DEFAULT_GATEWAY = '192.168.100.1';
export const DEFAULT_DNS = '8.8.8.8';
/** The newest guest's length caps for the optional Docker Hub credentials. */
const HUB_USER_MAX = 64;
const HUB_TOKEN_MAX = 128;

export interface ConfigValues {
  hostname: string;
  minerSs58: string;
  /** 64 hex characters, without 0x. Secret. */
  minerSeed: string;
  vmIp: string;
  vmGateway: string;
  vmDns: string;
  /** Optional (newest guests only): both or neither. The token is secret. */
  dockerHub?: {username: string; token: string};
}

export type RawConfigValues = {[K in Exclude<keyof ConfigValues, 'dockerHub'>]?: string} & {dockerHubUsername?: string; dockerHubToken?: string};

export type ConfigCheck = {ok: true; value: ConfigValues; notes: string[]; warnings: string[]} | {ok: false; errors: FieldError[]};

/** The gateway must be an address; outside the VM's /24 the VM has no route to it, which is worth a warning, not a refusal. */
function checkGateway(value: string, vmIp: string | undefined, warnings: string[]): FieldResult {
  const r = validateIpv4(value, 'gateway');
  if (!r.ok || vmIp === undefined) return r;
  const gw = parseIpv4(r.value)!;
  const ip = parseIpv4(vmIp)!;
  if (gw === ip) return {ok: false, message: `the gateway ${r.value} is the VM's own address`, fix: 'the gateway is the host side of the VM network (the bridge address, e.g. 192.168.100.1)'};
  if (gw >>> 8 !== ip >>> 8) warnings.push(`the gateway ${r.value} is outside the VM's network ${vmIp.replace(/\.\d+$/, '.0')}/24 (the guest's netplan makes its address a /24): the VM will have no route to it unless you know better`);
  return r;
}

/** The wizard's SS58 check, plus the guest's own: it refuses an address that does not start with 5 (a network other than Bittensor's). */
export function checkSs58(value: string): FieldResult {
  const r = validateMinerSs58(value);
  if (r.ok && !r.value.startsWith('5')) return {ok: false, message: `the SS58 address starts with ${JSON.stringify(r.value[0])}; the guest accepts only addresses starting with 5 (Bittensor, prefix 42)`, fix: 'give the hotkey address in the Bittensor format (btcli wallet overview shows it)'};
  return r;
}

function hubField(value: string, what: string, max: number): FieldResult {
  if (value.length > max) return {ok: false, message: `the Docker Hub ${what} is ${value.length} characters long; the guest takes at most ${max}`, fix: `check the ${what}`};
  if (/[\s\x00-\x1f\x7f]/.test(value)) return {ok: false, message: `the Docker Hub ${what} has a space or control character`, fix: `check the ${what}`};
  return {ok: true, value};
}

/** Every value at once. Messages never hold the seed or the token, or any part of them. */
export function checkConfigValues(raw: RawConfigValues): ConfigCheck {
  const {errors, notes, take} = fieldCollector();
  const warnings: string[] = [];
  const vmIp = take('--vm-ip', raw.vmIp, validateVmIp, true);
  const value = {
    hostname: take('--hostname', raw.hostname, validateHostname, true),
    minerSs58: take('--miner-ss58', raw.minerSs58, checkSs58, true),
    minerSeed: take('--miner-seed-file', raw.minerSeed, validateMinerSeed, true),
    vmIp,
    vmGateway: take('--vm-gateway', raw.vmGateway, (v) => checkGateway(v, vmIp, warnings), true),
    vmDns: take('--vm-dns', raw.vmDns, (v) => validateIpv4(v, 'DNS server'), false) ?? DEFAULT_DNS,
  };
  let dockerHub: ConfigValues['dockerHub'];
  const hubUser = raw.dockerHubUsername ?? '';
  const hubToken = raw.dockerHubToken ?? '';
  if (hubUser || hubToken) {
    if (!hubUser || !hubToken) errors.push({flag: hubUser ? '--docker-hub-token-file' : '--docker-hub-username', message: 'the Docker Hub username and token go together', fix: 'give both --docker-hub-username and --docker-hub-token-file, or neither'});
    else {
      const username = take('--docker-hub-username', hubUser, (v) => hubField(v, 'username', HUB_USER_MAX), true);
      const token = take('--docker-hub-token-file', hubToken, (v) => hubField(v, 'token', HUB_TOKEN_MAX), true);
      if (username && token) dockerHub = {username, token};
    }
  }
  if (errors.length) return {ok: false, errors};
  // The seed check's note speaks of the launcher; here it is the guest that reads it.
  return {ok: true, value: {...(value as Omit<ConfigValues, 'dockerHub'>), ...(dockerHub ? {dockerHub} : {})}, notes: notes.map((n) => n.replace('the launcher wants', 'the guest wants')), warnings};
}
