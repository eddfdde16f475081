// The config volume as one part of prepare: its values checked with everything else before any
// volume is made, its flow run as a part of the set's (flows/prepare.ts).
import {CONFIG_SEED_NOTE, configJob, configVolumeFlow, type ConfigJob} from '../../flows/config-volume.js';
import type {PreparePart} from '../../flows/prepare.js';
import type {CliContext} from '../cli/context.js';
import type {StepEnv} from '../flow-runner.js';
import {UsageError} from '../errors.js';
import {configValuesFromOptions} from '../config-volume/options.js';
import {DEFAULT_DNS, DEFAULT_GATEWAY, DEFAULT_VM_IP, type ConfigValues} from '../config-volume/values.js';
import {readConfigVolume} from '../config-volume/readback.js';
import {renderConfigFiles} from '../config-volume/render.js';
import type {Action} from './plan.js';


const definedOnly = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** Whether any config-volume value was given: then an existing config volume is compared with them. */
export const configGiven = (opts: Record<string, unknown>) => ['minerSs58', 'minerSeedFile', 'vmIp', 'vmGateway', 'vmDns'].some((k) => opts[k] !== undefined);

/** The values, refused (exit 2) when the options needed for a new config volume are missing. */
export function configValuesFrom(ctx: CliContext, opts: Record<string, unknown>, hostname: string): ConfigValues {
  const missing = [opts.minerSs58 === undefined ? '--miner-ss58 <address>' : undefined, opts.minerSeedFile === undefined ? '--miner-seed-file <path>' : undefined].filter(Boolean);
  if (missing.length) {
    throw new UsageError(
      `the config volume is missing and needs ${missing.join(' and ')}: the guest reads the miner's hotkey and seed from it`,
      `pass ${missing.join(' ')} (the seed file holds 64 hex characters, mode 0600; it never goes on the command line)`,
    );
  }
  return configValuesFromOptions(ctx, {vmIp: DEFAULT_VM_IP, vmGateway: DEFAULT_GATEWAY, vmDns: DEFAULT_DNS, ...definedOnly(opts)}, hostname);
}

/** Which of the config volume's files differ from what `values` would write (the seed compared, never shown). */
export async function configChanges(path: string, values: ConfigValues): Promise<string[]> {
  const back = await readConfigVolume(path, renderConfigFiles(values));
  return back.problems.flatMap((p) => /^(\S+) does not hold what was written$/.exec(p)?.[1] ?? []);
}

export async function configPart(env: StepEnv, action: Extract<Action, {kind: 'create' | 'refresh'}>, values: ConfigValues, createParent: boolean): Promise<PreparePart<ConfigJob>> {
  const job = await configJob(env, {path: action.path, values, createParent, refresh: action.kind === 'refresh'});
  env.warn(CONFIG_SEED_NOTE);
  return {role: 'config', job, flow: configVolumeFlow(job)};
}
