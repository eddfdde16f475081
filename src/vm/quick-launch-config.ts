// A config.yaml for upstream's quick-launch.sh (E4 February 2026, E5) that passes the schema shipped
// beside it, for a volume set the wizard prepared. The shipped template does not pass it (vm.image
// is ""), and quick-launch.sh puts the miner seed on create-config.sh's command line whenever it
// builds the config volume. So this file names the config volume the wizard built, by its absolute
// path: quick-launch.sh then uses it as it is ("Using existing config volume") and never calls
// create-config.sh. Its schema still wants a non-empty miner.seed, which nothing reads then: the file
// carries a value that cannot be taken for a seed (not 64 hex characters), so the real one is never
// written anywhere but the config volume, and should the config volume go missing, the guest refuses
// the placeholder loudly instead of booting with a wrong key.
import {existsSync, readFileSync, statSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {stringify} from 'yaml';
import {compileSchema, schemaErrors} from './json-schema.js';
import {readConfigVolume} from '../config-volume/readback.js';
import {UsageError} from '../errors.js';
import type {Era, Role} from '../era/eras.js';

/** Where quick-launch.sh's schema lives, relative to it (E4 beside it; from 8a61bc16 in config/). */
const SCHEMA_PLACES = ['config-schema.json', 'config/config-schema.json'];

export const SEED_PLACEHOLDER = 'not-used:the-config-volume-holds-the-seed';

export interface QuickLaunchInput {
  era: Era;
  /** The quick-launch.sh the file is for. */
  launcher: string;
  /** The set's files by role, absolute. */
  volumes: Partial<Record<Role, string>>;
  image: string;
  networkType: 'tap' | 'user';
  /** setup-bridge.sh's --public-iface (tap only; the schema wants one anyway). */
  publicIface?: string;
}

export function schemaPath(launcher: string): string {
  const dir = dirname(launcher);
  const found = SCHEMA_PLACES.map((p) => join(dir, p)).find((p) => existsSync(p));
  if (!found) throw new UsageError(`no config-schema.json beside ${launcher} (looked for ${SCHEMA_PLACES.join(', ')})`, 'give the quick-launch.sh of an upstream checkout (host-tools/scripts/quick-launch.sh), February 2026 or later');
  return found;
}

/** quick-launch.sh's size pattern (^[0-9]+(K|M|G|T)$): the volume's own size, exactly. */
function sizeOf(bytes: number): string {
  for (const [unit, scale] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20]] as const) if (bytes % scale === 0) return `${bytes / scale}${unit}`;
  return `${Math.ceil(bytes / 1024)}K`;
}

/** The config object and its YAML, checked against the schema beside the launcher (the schema's own words for what is wrong). */
export async function quickLaunchConfig(input: QuickLaunchInput, sizes: Partial<Record<Role, number>>): Promise<{config: Record<string, unknown>; yaml: string; schema: string}> {
  const {volumes} = input;
  for (const role of ['cache', 'storage', 'config'] as const) {
    const path = volumes[role];
    if (!path || !existsSync(path) || !statSync(path).isFile()) {
      throw new UsageError(`the ${role} volume ${path ?? ''} does not exist: quick-launch.sh would make it itself${role === 'config' ? ', with the miner seed on create-config.sh\'s command line' : ''}`, 'tdx-wizard prepare --dir DIR --hostname H makes the set first');
    }
  }
  const read = await readConfigVolume(volumes.config!);
  if (read.problems.length || !read.values.hostname || !read.values.minerSs58 || !read.values.vmIp || !read.values.vmGateway || !read.values.vmDns) {
    throw new UsageError(`the config volume ${volumes.config} would not be accepted: ${read.problems.join('; ') || 'a value is missing'}`, 'tdx-wizard prepare --dir DIR --hostname H rewrites it');
  }
  const v = read.values;
  const config = {
    vm: {hostname: v.hostname, image: input.image},
    miner: {ss58: v.minerSs58, seed: SEED_PLACEHOLDER},
    network: {vm_ip: v.vmIp, bridge_ip: `${v.vmGateway}/24`, dns: v.vmDns, public_interface: input.publicIface || 'eth0', type: input.networkType},
    volumes: {
      cache: {size: sizeOf(sizes.cache ?? 0), path: volumes.cache},
      storage: {size: sizeOf(sizes.storage ?? 0), path: volumes.storage},
      config: {path: volumes.config},
    },
  };
  const schema = schemaPath(input.launcher);
  const validate = compileSchema(JSON.parse(readFileSync(schema, 'utf8')));
  if (!validate(config)) {
    const said = schemaErrors(validate.errors);
    throw new UsageError(`the config for ${input.launcher} does not pass its schema ${schema}: ${said}`, 'check the values named; they come from the config volume and the set');
  }
  const header = [
    `# quick-launch.sh config written by tdx-wizard for ${input.era.id} (${input.era.title}); checked against ${schema}.`,
    '# volumes.config.path names the config volume tdx-wizard built: quick-launch.sh uses it as it is and never runs',
    '# create-config.sh, so miner.seed below is never read. It is a placeholder on purpose: the seed lives only in the',
    '# config volume. Run from the launcher\'s directory: cd ' + dirname(input.launcher) + ' && ./quick-launch.sh THIS_FILE',
  ].join('\n');
  return {config, yaml: `${header}\n${stringify(config)}`, schema};
}
