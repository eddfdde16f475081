// A host described in one YAML file, for `tdx-wizard apply`: the wizard's own few keys, or upstream's
// quick-launch.sh config.yaml (February 2026 and newer) as it is, checked against the schema shipped
// beside that launcher, with the wizard's extra keys under `tdx_wizard:`. Either way the seed is
// never in the file: the file names a seed file or an environment variable.
import {existsSync, readFileSync, statSync} from 'node:fs';
import {dirname, isAbsolute, join, resolve} from 'node:path';
import {parse} from 'yaml';
import {UsageError} from '../errors.js';
import {ERA_IDS, type EraId} from '../era/eras.js';
import {compileSchema, schemaErrors} from '../vm/json-schema.js';
import {schemaPath} from '../vm/quick-launch-config.js';
import {readAtMost} from '../vm/launcher.js';

export interface HostSpec {
  /** The file it came from, and which shape it had. */
  source: {path: string; shape: 'tdx-wizard' | 'quick-launch'; schema?: string};
  era?: EraId;
  launcher?: string;
  /** Where the volume set goes; the layout when absent. */
  dir?: string;
  hostname: string;
  image?: string;
  sizes: {cache?: string; storage?: string; containerd?: string};
  ss58?: string;
  seed?: {file: string} | {env: string};
  network: {type?: string; iface?: string; vmIp?: string; vmGateway?: string; vmDns?: string; sshPort?: string};
  /** Whether the VM should be running; absent: left as it is. */
  vm?: 'running' | 'stopped';
  /** Volumes under 100G allowed (tests, small hosts). */
  forceSmall?: boolean;
}

const SIZE = {type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[KMGT]?$'};
const IP = {type: 'string', pattern: '^[0-9]{1,3}(\\.[0-9]{1,3}){3}$'};

/** The wizard's own keys (also allowed under `tdx_wizard:` in a quick-launch config.yaml). */
const WIZARD_KEYS = {
  tdx_wizard: {type: 'integer', const: 1, description: 'the version of this file format'},
  era: {enum: ERA_IDS},
  launcher: {type: 'string', minLength: 1},
  dir: {type: 'string', minLength: 1},
  hostname: {type: 'string', minLength: 1},
  image: {type: 'string', minLength: 1},
  volumes: {type: 'object', additionalProperties: false, properties: {cache: SIZE, storage: SIZE, containerd: SIZE}},
  miner: {type: 'object', additionalProperties: false, properties: {ss58: {type: 'string'}, seed_file: {type: 'string', minLength: 1}, seed_env: {type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$'}}},
  network: {type: 'object', additionalProperties: false, properties: {type: {enum: ['tap', 'user', 'macvtap']}, iface: {type: 'string'}, vm_ip: IP, vm_gateway: IP, vm_dns: IP, ssh_port: {type: 'integer', minimum: 1, maximum: 65535}}},
  vm: {enum: ['running', 'stopped']},
  force_small: {type: 'boolean'},
} as const;

const WIZARD_SCHEMA = {type: 'object', additionalProperties: false, required: ['tdx_wizard', 'hostname'], properties: WIZARD_KEYS};
const EXTRA_SCHEMA = {type: 'object', additionalProperties: false, properties: {...WIZARD_KEYS, tdx_wizard: {}}};


/** A path in the file, relative to the file's own directory. */
function near(file: string, path: string | undefined): string | undefined {
  return path === undefined ? undefined : isAbsolute(path) ? path : resolve(dirname(file), path);
}

/** The description in FILE, or on stdin for `-` (its paths then relative to the working directory). */
export function readHostFile(path: string): HostSpec {
  const file = path === '-' ? join(process.cwd(), '(stdin)') : resolve(path);
  let text: string;
  if (path === '-') {
    text = readAtMost(0, 1 << 20);
  } else {
    if (!existsSync(file)) throw new UsageError(`${file} does not exist`, 'give the host description (YAML): see docs/fleet.md');
    if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`, 'give the host description (YAML)');
    if (statSync(file).size > 1 << 20) throw new UsageError(`${file} is ${statSync(file).size} bytes; a host description is a few lines`, 'give the host description (YAML)');
    text = readFileSync(file, 'utf8');
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`, 'fix the YAML (indentation, quotes) and run it again');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${file} is not a YAML mapping`, 'see docs/fleet.md for the keys');
  const d = doc as Record<string, unknown>;
  return typeof d.vm === 'object' && d.vm !== null ? fromQuickLaunch(file, d) : fromWizard(file, d);
}

function fromWizard(file: string, d: Record<string, unknown>): HostSpec {
  const validate = compileSchema(WIZARD_SCHEMA);
  if (!validate(d)) throw new UsageError(`${file} does not describe a host: ${schemaErrors(validate.errors)}`, 'see docs/fleet.md for the keys; a quick-launch.sh config.yaml is read as it is');
  return common(file, d, {path: file, shape: 'tdx-wizard'});
}

/** Upstream's config.yaml: validated by the schema beside its launcher (tdx_wizard.launcher), the wizard's keys under tdx_wizard. */
function fromQuickLaunch(file: string, d: Record<string, unknown>): HostSpec {
  const extra = (typeof d.tdx_wizard === 'object' && d.tdx_wizard !== null ? d.tdx_wizard : {}) as Record<string, unknown>;
  const checkExtra = compileSchema(EXTRA_SCHEMA);
  if (!checkExtra(extra)) throw new UsageError(`${file}: tdx_wizard: ${schemaErrors(checkExtra.errors)}`, 'see docs/fleet.md for the keys the wizard adds');
  const launcher = near(file, extra.launcher as string | undefined);
  if (!launcher) throw new UsageError(`${file} is a quick-launch.sh config.yaml without tdx_wizard.launcher`, 'add tdx_wizard: {launcher: /path/to/host-tools/scripts/quick-launch.sh}: its config-schema.json judges the file');
  const schema = schemaPath(launcher);
  const upstream = {...d};
  delete upstream.tdx_wizard;
  const validate = compileSchema(JSON.parse(readFileSync(schema, 'utf8')));
  if (!validate(upstream)) throw new UsageError(`${file} does not pass ${schema}: ${schemaErrors(validate.errors)}`, 'fix the file as the schema says (quick-launch.sh would refuse it too)');
  const vm = upstream.vm as Record<string, string>;
  const miner = (upstream.miner ?? {}) as Record<string, string>;
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(String(miner.seed ?? '').trim())) {
    throw new UsageError(`${file} holds the miner seed in clear (miner.seed)`, 'move the seed to a file (mode 0600) and name it with tdx_wizard: {miner: {seed_file: PATH}}; leave miner.seed a placeholder the schema accepts');
  }
  const network = (upstream.network ?? {}) as Record<string, string>;
  const volumes = (upstream.volumes ?? {}) as Record<string, {size?: string; path?: string}>;
  // Upstream's keys in the wizard's own shape; its extras (under tdx_wizard) win.
  const spec = common(
    file,
    {
      ...extra,
      hostname: vm.hostname,
      image: vm.image,
      volumes: {cache: volumes.cache?.size, storage: volumes.storage?.size},
      miner: {ss58: miner.ss58, ...((extra.miner ?? {}) as object)},
      network: {type: network.type, vm_ip: network.vm_ip, vm_gateway: network.bridge_ip?.split('/')[0], vm_dns: network.dns, ...((extra.network ?? {}) as object)},
    },
    {path: file, shape: 'quick-launch', schema},
  );
  const cachePath = near(file, volumes.cache?.path);
  return {...spec, launcher: spec.launcher ?? launcher, ...(cachePath && !spec.dir ? {dir: dirname(cachePath)} : {})};
}

/** A host description in the wizard's own keys (either shape, once read) as a HostSpec; paths relative to the file. */
function common(file: string, d: Record<string, unknown>, source: HostSpec['source']): HostSpec {
  const miner = d.miner as Record<string, string> | undefined;
  const volumes = (d.volumes ?? {}) as Record<string, string | undefined>;
  const image = near(file, d.image as string | undefined);
  const hostname = String(d.hostname);
  const network = d.network as Record<string, unknown> | undefined;
  if (miner?.seed_file && miner.seed_env) throw new UsageError(`${file}: both miner.seed_file and miner.seed_env`, 'name the seed one way');
  const seed = miner?.seed_file ? {file: near(file, miner.seed_file)!} : miner?.seed_env ? {env: miner.seed_env} : undefined;
  const n = network ?? {};
  const str = (v: unknown) => (v === undefined || v === null ? undefined : String(v));
  return {
    source,
    ...(d.era ? {era: d.era as EraId} : {}),
    ...(d.launcher ? {launcher: near(file, String(d.launcher))} : {}),
    ...(d.dir ? {dir: near(file, String(d.dir))} : {}),
    hostname,
    ...(image ? {image} : {}),
    sizes: Object.fromEntries(Object.entries(volumes).filter(([, v]) => v !== undefined)) as HostSpec['sizes'],
    ...(miner?.ss58 ? {ss58: miner.ss58} : {}),
    ...(seed ? {seed} : {}),
    network: Object.fromEntries(
      Object.entries({type: str(n.type), iface: str(n.iface), vmIp: str(n.vm_ip), vmGateway: str(n.vm_gateway), vmDns: str(n.vm_dns), sshPort: str(n.ssh_port)}).filter(([, v]) => v !== undefined),
    ) as HostSpec['network'],
    ...(d.vm ? {vm: d.vm as 'running' | 'stopped'} : {}),
    ...(d.force_small ? {forceSmall: true} : {}),
  };
}
