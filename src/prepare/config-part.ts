// The config volume as one part of prepare: its values checked with everything else before any
// volume is made, its flow run as a part of the set's (flows/prepare.ts).
import {CONFIG_SEED_NOTE, configJob, configVolumeFlow, type ConfigJob} from '../../flows/config-volume.js';
import type {PreparePart} from '../../flows/prepare.js';
import type {CliContext} from '../cli/context.js';
import type {StepEnv} from '../flow-runner.js';
import {UsageError} from '../errors.js';
import {configValuesFromOptions} from '../config-volume/options.js';
import type {ConfigValues} from '../config-volume/values.js';
import type {Action} from './plan.js';

/** The values, refused (exit 2) when the options needed for a new config volume are missing. */
export function configValuesFrom(ctx: CliContext, opts: Record<string, unknown>, hostname: string): ConfigValues {
  const missing = [opts.minerSs58 === undefined ? '--miner-ss58 <address>' : undefined, opts.minerSeedFile === undefined ? '--miner-seed-file <path>' : undefined].filter(Boolean);
  if (missing.length) {
    throw new UsageError(
      `the config volume is missing and needs ${missing.join(' and ')}: the guest reads the miner's hotkey and seed from it`,
      `pass ${missing.join(' ')} (the seed file holds 64 hex characters, mode 0600; it never goes on the command line)`,
    );
  }
  return configValuesFromOptions(ctx, opts, hostname);
}

export async function configPart(env: StepEnv, action: Extract<Action, {kind: 'create'}>, values: ConfigValues, createParent: boolean): Promise<PreparePart<ConfigJob>> {
  const job = await configJob(env, {path: action.path, values, createParent});
  env.warn(CONFIG_SEED_NOTE);
  return {role: 'config', job, flow: configVolumeFlow(job)};
}
