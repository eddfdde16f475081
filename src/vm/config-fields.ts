// The launch fields of the launchers after E1 (run-vm.sh, run-td, chutes-cvm): only the options the
// launcher takes (its adapter's `options`) are read and checked; credentials live in the config
// volume (chutes-cvm rebuilds it at each launch, so it takes them). The volume paths are made
// absolute: run-td runs in its own directory, and chutes-cvm takes a relative one from its package.
import {resolve} from 'node:path';
import type {Role} from '../era/eras.js';
import type {FieldCheck, LaunchInputAll, OptionKey} from './adapters/types.js';
import {sameSlash24, validateExtraFlags, validateGateway, validateHostname, validateImage, validateImageSet, validateMinerSeed, validateIpv4, validateMem, validateMinerSs58, validateNetIface, validateSshPort, validateVcpus, validateVmIp, type FieldError, type FieldResult, type LaunchFields, type LaunchInput, type NetworkType} from './fields.js';

export interface ConfigFieldRules {
  /** The options the launcher cannot go without, each with the words that say why. */
  required?: Partial<Record<OptionKey, string>>;
  /** What --image names: a disk image file (run-td), or an image-set directory (chutes-cvm). */
  image?: 'file' | 'image-set';
  /**
   * The gateway the launcher gives the guest when none is passed (chutes-cvm: its bridge,
   * 192.168.100.1/24): a VM address outside that /24 then needs --vm-gateway.
   */
  defaultGateway?: {address: string; vmIp: string; launcher: string};
}

export function checkConfigLaunchFields(input: LaunchInputAll, options: readonly OptionKey[], sysRoot = '/sys', rules: ConfigFieldRules = {}): FieldCheck {
  const errors: FieldError[] = [];
  const notes: string[] = [];
  const take = <T>(key: OptionKey & keyof LaunchInput, flag: string, check: (v: string) => FieldResult<T>, needed: string | false = false): T | undefined => {
    const raw = input[key];
    const required = rules.required?.[key] ?? needed;
    if (!options.includes(key)) return undefined;
    if (raw === undefined || raw.trim() === '') {
      if (required) errors.push({flag, message: `${flag} is required ${required}`, fix: `pass ${flag}`});
      return undefined;
    }
    const r = check(raw);
    if (!r.ok) errors.push({flag, message: r.message, fix: r.fix});
    else if (r.note) notes.push(r.note);
    return r.ok ? r.value : undefined;
  };
  // Only tap and user: macvtap went with run-tdx.sh (E2 on).
  const networkType = take('networkType', '--network-type', (v): FieldResult<NetworkType> =>
    v === 'tap' || v === 'user' ? {ok: true, value: v} : {ok: false, message: `the network type "${v}" is not tap or user`, fix: 'tap (vmtap0 on br0, made by setup-bridge.sh) or user (QEMU user networking)'}) ?? 'tap';
  const extra = validateExtraFlags(input.extra ?? []);
  if (!extra.ok) errors.push({flag: '--', message: extra.message, fix: extra.fix});
  const volumes = Object.fromEntries(Object.entries(input.volumes).map(([role, path]) => [role, resolve(path)])) as Partial<Record<Role, string>>;
  const value: LaunchFields = {
    cacheVolume: volumes.cache ?? '',
    volumes,
    networkType,
    image: rules.image === 'image-set' ? take('image', '--image', validateImageSet) : take('image', '--image', validateImage, 'for this launcher (the guest image, tdx-guest.qcow2)'),
    netIface: networkType === 'tap' ? take('netIface', '--net-iface', (v) => validateNetIface(v, 'tap', sysRoot), 'for the tap network (setup-bridge.sh makes vmtap0)') : undefined,
    sshPort: take('sshPort', '--ssh-port', validateSshPort),
    hostname: take('hostname', '--hostname', validateHostname),
    minerSs58: take('minerSs58', '--miner-ss58', validateMinerSs58),
    minerSeed: take('minerSeed', '--miner-seed-file', validateMinerSeed),
    vmIp: take('vmIp', '--vm-ip', validateVmIp),
    vmGateway: take('vmGateway', '--vm-gateway', (v) => gatewayFor(v, input, rules), gatewayNeeded(input, rules)),
    vmDns: take('vmDns', '--vm-dns', (v) => validateIpv4(v, 'DNS server')),
    vcpus: take('vcpus', '--vcpus', validateVcpus),
    mem: take('mem', '--mem', validateMem),
    extra: extra.ok ? extra.value : [],
  };
  if (networkType === 'user' && input.netIface) notes.push('--net-iface is ignored with the user network');
  return errors.length ? {ok: false, errors} : {ok: true, value, notes};
}

/** The gateway in the VM's /24: the VM's IP given, else the launcher's default one (chutes-cvm: 192.168.100.2). */
function gatewayFor(value: string, input: LaunchInputAll, rules: ConfigFieldRules): FieldResult<string> {
  const given = input.vmIp?.trim();
  const fallback = rules.defaultGateway;
  if (given || !fallback) return validateGateway(value, given ?? '');
  const r = validateGateway(value, fallback.vmIp);
  return r.ok ? r : {...r, message: `${r.message} (no --vm-ip: ${fallback.launcher} gives the VM ${fallback.vmIp})`, fix: `pass --vm-ip with an address in the gateway's /24 too, or leave --vm-gateway out for ${fallback.launcher}'s own ${fallback.address}`};
}

/** Why --vm-gateway is required: the VM's address is outside the launcher's default gateway's /24. */
function gatewayNeeded(input: LaunchInputAll, rules: ConfigFieldRules): string | false {
  const ip = input.vmIp?.trim();
  const gw = rules.defaultGateway;
  if (!ip || !gw || !validateVmIp(ip).ok || sameSlash24(ip, gw.address)) return false;
  return `for ${gw.launcher} when the VM's IP ${ip} is outside its default bridge ${gw.address}/24 (it would give the guest ${gw.address} as its gateway)`;
}
