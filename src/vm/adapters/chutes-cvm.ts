// E6: `chutes-cvm guest launch` (rayonlabs/sek8s 3a1a37cd, upstream-eras.md §2.5). chutes-cvm
// rebuilds the config volume at every launch (its Step 4), so it needs the hostname, miner keys and
// network. The seed goes to it only in its environment (CHUTES_CVM_MINER__SEED: its settings read
// CLI > CHUTES_CVM_* with "__" nesting > config.yaml), never on a command line. chutes-cvm then puts
// it on sudo's command line itself (`sudo HOSTNAME=… MINER_SEED=… volumes/create-config.sh VOL`),
// which the wizard cannot prevent and says once before launching. What chutes-cvm would refuse
// or do wrong is refused first: a chutes-td QEMU running, TDX off as it checks it, an image set it
// cannot verify, no miner keys in the config file its attestation check signs with, a .qcow2
// volume that is not there (it never makes one), a relative volume path (taken from its package's
// scripts directory).
import {existsSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {check, type Check} from '../../host/check-types.js';
import {tdxModuleCheck, type EraCheckOptions} from '../../host/era-checks.js';
import type {Era} from '../../era/eras.js';
import {DEFAULT_IMAGE_SET, imageSetProblems} from '../../volume/image-set.js';
import {checkConfigLaunchFields} from '../config-fields.js';
import type {LaunchFields} from '../fields.js';
import {confirmStarted} from './confirm.js';
import {launchChecks, refusals, type Refusal} from './preflight.js';
import {probeVm, qemusNamed, stopAndConfirm} from './probe.js';
import {checkEraSet, volumeArgs} from './run-td.js';
import {volumesOf, type LauncherAdapter, type OptionKey} from './types.js';

const PROCESS = 'chutes-td';
/** The variable chutes-cvm's settings read miner.seed from (env_prefix CHUTES_CVM_, env_nested_delimiter "__"). */
export const CVM_SEED_ENV = 'CHUTES_CVM_MINER__SEED';

export const CVM_SEED_EXPOSURE =
  'chutes-cvm itself exposes the miner seed: while it refreshes the config volume it runs "sudo HOSTNAME=… MINER_SEED=<seed> … volumes/create-config.sh", ' +
  'so for that moment the seed is on sudo\'s command line, which every user of this host can see in ps (it also prints that line; the wizard masks it). ' +
  `The wizard hands the seed to chutes-cvm only in its environment (${CVM_SEED_ENV}), never on a command line, and never shows, logs or stores it; ` +
  'QEMU inherits that environment from chutes-cvm, so the seed stays in /proc/<QEMU pid>/environ (readable by root only) while the VM runs.';

const OPTIONS: readonly OptionKey[] = ['hostname', 'minerSs58', 'minerSeedFile', 'minerSeed', 'image', 'networkType', 'vmIp', 'vmGateway', 'vmDns', 'sshPort'];
/** chutes-cvm's network.bridge_ip default: the host's bridge, and the gateway it writes to the config volume (the part before "/"). */
const DEFAULT_BRIDGE = '192.168.100.1';
/** chutes-cvm's network.vm_ip default. */
const DEFAULT_VM_IP = '192.168.100.2';
// chutes-cvm stops with "missing required configuration" without these (it writes them to the config volume).
const REQUIRED: Partial<Record<OptionKey, string>> = {
  hostname: 'for chutes-cvm (it writes the hostname to the config volume)',
  minerSs58: 'for chutes-cvm (it writes the hotkey to the config volume)',
  minerSeed: 'for chutes-cvm (or TDX_MINER_SEED, or the prompt on a terminal)',
};

/** TDX as chutes-cvm's Step 0 decides it: the kvm_intel parameter, else "tdx" in /proc/cpuinfo (its last resort, sudo dmesg, is not read). */
async function tdxActive(era: Era, ctx: EraCheckOptions): Promise<Check | undefined> {
  if (!era.host.tdx) return undefined;
  const param = await tdxModuleCheck(era, era.host.tdx, ctx);
  if (param.status !== 'fail') return param;
  const cpuinfo = join(ctx.roots.proc, 'cpuinfo');
  const text = await readFile(cpuinfo, 'utf8').catch(() => '');
  if (text.includes('tdx')) return check(param.id, param.title, 'ok', `${cpuinfo} names tdx`, [...param.evidence, {source: cpuinfo, said: 'names tdx'}]);
  return {...param, summary: `${param.summary}, and ${cpuinfo} does not name tdx: chutes-cvm stops with "TDX does not appear active"`, evidence: [...param.evidence, {source: cpuinfo, said: text ? 'no "tdx"' : 'unreadable'}]};
}

function runningTd(): Refusal[] {
  return qemusNamed(PROCESS).map(({pid, argv}) => ({
    text: `a QEMU named ${PROCESS} already runs (pid ${pid}: ${argv.slice(0, 2).join(' ')} …): chutes-cvm refuses to launch while it does ("a TDX VM (QEMU, chutes-td) is already running")`,
    fix: 'tdx-wizard status; tdx-wizard stop (chutes-cvm guest stop --force), then launch again',
  }));
}

/** The miner.ss58 and miner.seed of a config.yaml, as far as a line reader can tell (never the values). */
function minerKeysIn(text: string): {ss58: boolean; seed: boolean} {
  const found = {ss58: false, seed: false};
  let inMiner = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) inMiner = /^miner:\s*(#.*)?$/.test(line);
    const m = inMiner ? /^\s+(ss58|seed):\s*(.*?)\s*(#.*)?$/.exec(line) : null;
    if (m && m[2] && m[2] !== '""' && m[2] !== "''") found[m[1] as 'ss58' | 'seed'] = true;
  }
  return found;
}

/**
 * chutes-cvm's Step 1 asks the API whether this host can attest the image, signing with the miner
 * keys it reads from its config file ($CHUTES_CVM_CONFIG, else ./config.yaml where it runs), not
 * from the environment; without them it refuses to launch unless given --force.
 */
async function attestationKeys(fields: LaunchFields): Promise<Refusal[]> {
  if (fields.extra.includes('--force')) return [];
  const path = process.env.CHUTES_CVM_CONFIG || join(process.cwd(), 'config.yaml');
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => error);
  const keys = typeof text === 'string' ? minerKeysIn(text) : undefined;
  if (keys?.ss58 && keys.seed) return [];
  const said = typeof text === 'string' ? `it has no ${[keys?.ss58 ? '' : 'miner.ss58', keys?.seed ? '' : 'miner.seed'].filter(Boolean).join(' or ')}` : text.code === 'ENOENT' ? 'it does not exist' : `unreadable: ${text.message}`;
  return [{
    text: `chutes-cvm's Step 1 signs its attestation check with the miner keys of its config file ${path}${process.env.CHUTES_CVM_CONFIG ? ' ($CHUTES_CVM_CONFIG)' : ''}, and ${said}: it would refuse to launch ("Refusing to launch: the VM would boot but fail attestation")`,
    fix: `keep upstream's config.yaml with miner.ss58 and miner.seed (chutes-cvm config init; mode 0600) at ${path}, or name it with CHUTES_CVM_CONFIG=PATH; or skip that check with: tdx-wizard launch … -- --force (a VM this host cannot attest then fails attestation)`,
  }];
}

/** The .qcow2 data volumes that are not there: chutes-cvm never makes one (it makes only raw volumes). */
function missingQcow2(fields: LaunchFields, era: Era): Array<Refusal & {path: string}> {
  const paths = volumesOf(fields);
  return era.volumes.flatMap((spec) => {
    const path = paths[spec.role];
    if (spec.role === 'config' || !path || !/\.qcow2$/.test(path) || existsSync(path)) return [];
    return [{path, text: `the ${spec.role} volume ${path} does not exist, and chutes-cvm never makes a .qcow2 volume ("qcow2 volumes cannot be created")`, fix: `tdx-wizard create ${path.replace(/\.qcow2$/, '.raw')} --role ${spec.role} --era ${era.id}, then launch with that path`}];
  });
}

export const chutesCvm: LauncherAdapter = {
  kind: 'chutes-cvm',
  options: OPTIONS,
  networkTypes: ['tap', 'user'],
  unusedReason: 'chutes-cvm guest launch takes no such value (it makes the bridge and TAP itself, and fixes the VM size)',
  exposure: CVM_SEED_EXPOSURE,
  configVolume: 'rewritten by chutes-cvm at this launch (Step 4: hostname, miner keys and network from this form), then read-only to the guest',
  imageKind: 'image-set',
  checkFields: (input, sysRoot) => checkConfigLaunchFields(input, OPTIONS, sysRoot, {required: REQUIRED, image: 'image-set', defaultGateway: {address: DEFAULT_BRIDGE, vmIp: DEFAULT_VM_IP, launcher: 'chutes-cvm'}}),
  buildInvocation(launcher, fields, era) {
    const {config, data} = volumeArgs(fields, era);
    const opt = (flag: string, value: string | number | undefined) => (value === undefined || value === '' ? [] : [flag, String(value)]);
    return {
      cmd: launcher,
      args: [
        'guest', 'launch',
        ...opt('--hostname', fields.hostname), '--base-image', fields.image ?? DEFAULT_IMAGE_SET, ...opt('--miner-ss58', fields.minerSs58),
        ...opt('--vm-ip', fields.vmIp), ...opt('--bridge-ip', fields.vmGateway && `${fields.vmGateway}/24`), ...opt('--vm-dns', fields.vmDns),
        ...data, ...config,
        '--network-type', fields.networkType, ...opt('--ssh-port', fields.sshPort), ...fields.extra,
      ],
      ...(fields.minerSeed ? {env: {[CVM_SEED_ENV]: fields.minerSeed}} : {}),
      secrets: fields.minerSeed ? [fields.minerSeed] : [],
      title: 'Launch the TDX VM (chutes-cvm guest launch)',
    };
  },
  async preflight(launcher, fields, era, ctx) {
    // The deprecated quick-launch.sh shim forwards its arguments to `chutes-cvm guest launch`, so it cannot be given "guest launch" or "guest stop".
    if (basename(launcher) !== 'chutes-cvm') {
      return [{text: `${launcher} is not chutes-cvm: the E6 quick-launch.sh only forwards its arguments to "chutes-cvm guest launch", and cannot stop the VM`, fix: 'pass --launcher with chutes-cvm itself: --launcher "$(command -v chutes-cvm)"'}];
    }
    const tdx = await tdxActive(era, ctx);
    return [
      ...runningTd(),
      ...refusals([...(tdx ? [tdx] : []), ...(await launchChecks(launcher, fields, era, ctx))]),
      ...imageSetProblems(fields.image ?? DEFAULT_IMAGE_SET),
      ...(await attestationKeys(fields)),
    ];
  },
  async checkVolumes(fields, era) {
    const own = missingQcow2(fields, era);
    const set = await checkEraSet(fields, era);
    // The set check says the same of a missing file without why chutes-cvm cannot help: one line each.
    const said = (text: string) => own.some((o) => text.includes(`(${o.path} does not exist)`));
    return {problems: [...own.map(({text, fix}) => ({text, fix})), ...set.problems.filter((p) => !said(p.text))]};
  },
  confirmLaunch: (result, launcher, serialLines) => confirmStarted(probeVm(PROCESS), result, launcher, serialLines),
  status: () => probeVm(PROCESS),
  stopInvocation: (launcher) => ({cmd: launcher, args: ['guest', 'stop', '--force'], secrets: [], title: 'Stop the TDX VM (chutes-cvm guest stop --force)'}),
  stop: (runner, launcher, signal) => stopAndConfirm(runner, chutesCvm.stopInvocation(launcher), () => probeVm(PROCESS), signal),
};
