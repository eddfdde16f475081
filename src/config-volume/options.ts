// The config volume's values as typed on a command line (config-volume, prepare): the secrets
// read from files or stdin (never an argument) and registered with the runner at once, then every
// value checked by the guest's rules. All wrong values are named together, as one UsageError.
import type {CliContext} from '../cli/context.js';
import {UsageError} from '../errors.js';
import {readAtMost, readSeedFile, SEED_FILE_MAX} from '../vm/launcher.js';
import {checkConfigValues, type ConfigValues} from './values.js';

/** A secret from a file (its mode checked) or, for "-", from stdin; trimmed as the guest trims it. */
function readSecret(ctx: CliContext, path: string, flag: string): string {
  if (path !== '-') {
    const file = readSeedFile(path);
    if (file.warning) ctx.reporter.warn(file.warning.replace('miner seed file', `${flag} file`), `chmod 600 ${path}`);
    return file.seed;
  }
  if (process.stdin.isTTY) throw new UsageError(`${flag} - reads stdin, which is a terminal here`, `pipe it in (e.g. ${flag} - < FILE) or give the file: ${flag} FILE`);
  return readAtMost(0, SEED_FILE_MAX).trim();
}

/** `opts` as commander gives them (minerSs58, minerSeedFile, vmIp, …); `hostname` when another option names it. */
export function configValuesFromOptions(ctx: CliContext, opts: Record<string, unknown>, hostname?: string): ConfigValues {
  const {reporter, runner} = ctx;
  const str = (key: string) => (opts[key] === undefined ? undefined : String(opts[key]));
  const seedFile = str('minerSeedFile');
  const seed = seedFile === undefined ? undefined : readSecret(ctx, seedFile, '--miner-seed-file');
  if (seed) runner.addSecret(seed);
  const tokenFile = str('dockerHubTokenFile');
  if (seedFile === '-' && tokenFile === '-') throw new UsageError('only one of --miner-seed-file and --docker-hub-token-file can read stdin', 'give the Docker Hub token as a file');
  const token = tokenFile === undefined ? undefined : readSecret(ctx, tokenFile, '--docker-hub-token-file');
  if (token) runner.addSecret(token);

  const checked = checkConfigValues({
    hostname: hostname ?? str('hostname'),
    minerSs58: str('minerSs58'),
    minerSeed: seed,
    vmIp: str('vmIp'),
    vmGateway: str('vmGateway'),
    vmDns: str('vmDns'),
    dockerHubUsername: str('dockerHubUsername'),
    dockerHubToken: token,
  });
  if (!checked.ok) {
    for (const e of checked.errors) reporter.event('field-error', {...e});
    const [one] = checked.errors;
    if (checked.errors.length === 1) throw new UsageError(one!.message, one!.fix);
    throw new UsageError(`${checked.errors.length} values need fixing:\n${checked.errors.map((e) => `  - ${e.message} (${e.fix})`).join('\n')}`, 'correct each value as its line says, then run again');
  }
  for (const note of checked.notes) reporter.info(note);
  for (const warning of checked.warnings) reporter.warn(warning);
  return checked.value;
}
