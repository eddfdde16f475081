// tdx-wizard launch: tells the launcher's era, checks every field and volume against it, then runs
// the launcher through its era's adapter (src/vm/adapters).
// The miner seed never appears in what the wizard prints, records or stores: it is registered as
// a secret with the runner the moment it is read, before anything else happens.
import {seedFromEnv} from '../seed-env.js';
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {isInteractive} from '../cli/prompt.js';
import {Cancelled, UsageError} from '../errors.js';
import {serialLog} from '../paths.js';
import {shellLine} from '../runner/mask.js';
import type {VolumeVerdict} from '../volume/verdict.js';
import {verifyVolume} from '../volume/verify.js';
import type {Role} from '../era/eras.js';
import {rememberedEra} from '../era/remembered.js';
import {adapterFor, volumesOf, type LaunchInputAll, type OptionKey} from '../vm/adapters/index.js';
import {actionFor, type HintMatch} from '../vm/hints.js';
import {launchEra, refuseForeign, refuseMissing, VOLUME_OPTIONS} from '../vm/launch-era.js';
import {launchTimeoutMs, launchVm, readSeedFile} from '../vm/launcher.js';
import {findLauncher, rememberLaunch} from '../vm/launcher-path.js';

export interface LaunchDeps {
  verify: (path: string) => Promise<VolumeVerdict>;
}

export function register(program: Command, deps: LaunchDeps = {verify: verifyVolume}): void {
  program
    .command('launch')
    .description('launch the TDX VM with its era\'s upstream launcher (run-tdx.sh, run-vm.sh, run-td, chutes-cvm), after checking every field and volume')
    .argument('[extra...]', 'after --: flags passed to the launcher untouched (e.g. -- --gpu-mmio-mb 131072)')
    .option('--launcher <path>', 'the upstream launcher (default: the one remembered, else ./run-tdx.sh, ./run-td or ./host-tools/scripts/run-td)')
    .option('--era <id>', 'the upstream era (E1…E6; default: told from the launcher\'s files, else the one remembered)')
    .option('--cache-volume <path>', 'the cache volume (labelled tdx-cache)')
    .option('--storage-volume <path>', 'the storage volume (labelled storage; E4 and later)')
    .option('--containerd-volume <path>', 'the containerd volume (labelled containerd-cache; E3b only)')
    .option('--config-volume <path>', 'the config volume (labelled tdx-config, qcow2; E2 and later): it holds the hostname, miner keys and network')
    .option('--hostname <name>', 'the VM hostname (a DNS label; E1, E6)')
    .option('--miner-ss58 <address>', 'the miner hotkey address (SS58, prefix 42; E1, E6)')
    .option('--miner-seed-file <path>', 'a file holding the miner seed (64 hex characters; keep it mode 0600; E1, E6)')
    .option('--miner-seed <hex>', 'the miner seed on the command line: visible to every user in ps, prefer --miner-seed-file (E1, E6)')
    .option('--network-type <type>', 'tap (default), user, or macvtap (E1 only)')
    .option('--net-iface <name>', 'the tap or macvtap interface (run-td: vmtap0 from setup-bridge.sh; run-tdx.sh: vmnet-XXXXXXXX from setup-macvtap.sh)')
    .option('--vm-ip <ip>', 'the VM address (the launcher makes it a /24; E1)')
    .option('--vm-gateway <ip>', 'the gateway, in the VM\'s /24 (E1)')
    .option('--vm-dns <ip>', 'the DNS server (launcher default 8.8.8.8; E1)')
    .option('--ssh-port <port>', 'the host port forwarded to SSH with the user network (run-tdx.sh default 2222, run-td 10022)')
    .option('--image <path>', 'the guest image (run-tdx.sh default: guest-tools/image/tdx-guest-ubuntu-24.04-final.qcow2; required by run-td)')
    .option('--vcpus <n>', 'cores per socket: the VM gets 4 x n vCPUs (run-tdx.sh default 24; run-td fixes 32 vCPUs)')
    .option('--mem <size>', 'memory, e.g. 1536G (run-tdx.sh default; run-td fixes 100G)')
    .action(action('launch', (ctx, extra, opts) => launch(ctx, extra, opts, deps)));
}

const OPTION_KEYS: readonly OptionKey[] = ['hostname', 'minerSs58', 'minerSeedFile', 'minerSeed', 'networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'];

async function launch(ctx: CliContext, extra: string[], opts: Record<string, unknown>, deps: LaunchDeps): Promise<number> {
  const {reporter, runner} = ctx;
  launchTimeoutMs(); // a wrong TDX_WIZARD_LAUNCH_TIMEOUT is bad input, said before anything else
  const str = (key: string) => (opts[key] === undefined ? undefined : String(opts[key]));
  const settingsNotice = (text: string) => reporter.warn(text, 'nothing to fix for this run; the broken file is kept for you to look at, delete it when done');
  const launcher = findLauncher(str('launcher'), process.cwd(), settingsNotice, opts.era);
  const {era, evidence} = await launchEra(launcher, opts.era, rememberedEra());
  const adapter = adapterFor(era);
  const volumes = Object.fromEntries(Object.entries(VOLUME_OPTIONS).filter(([key]) => opts[key] !== undefined).map(([key, role]) => [role, String(opts[key])])) as Partial<Record<Role, string>>;
  refuseForeign(era, adapter, {options: OPTION_KEYS.filter((k) => opts[k] !== undefined), volumes: Object.keys(volumes) as Role[]});
  // Only a launcher that takes the seed gets it; for the others it is in the config volume and the
  // variable is dropped, so that no program the wizard runs inherits it.
  const seed = adapter.options.includes('minerSeedFile') ? await obtainSeed(ctx, opts) : undefined;
  const input: LaunchInputAll = {
    cacheVolume: str('cacheVolume'),
    hostname: str('hostname'),
    minerSs58: str('minerSs58'),
    minerSeed: seed,
    networkType: str('networkType'),
    netIface: str('netIface'),
    vmIp: str('vmIp'),
    vmGateway: str('vmGateway'),
    vmDns: str('vmDns'),
    sshPort: str('sshPort'),
    image: str('image'),
    vcpus: str('vcpus'),
    mem: str('mem'),
    extra,
    volumes,
  };
  const checked = adapter.checkFields(input, process.env.TDX_WIZARD_SYS_ROOT || '/sys');
  if (!checked.ok) {
    for (const e of checked.errors) reporter.event('field-error', {...e});
    const [one] = checked.errors;
    if (checked.errors.length === 1) throw new UsageError(`${one!.message}`, one!.fix);
    throw new UsageError(`${checked.errors.length} launch fields need fixing:\n${checked.errors.map((e) => `  - ${e.message} (${e.fix})`).join('\n')}`, 'correct each field as its line says, then run launch again');
  }
  refuseMissing(era, Object.keys(volumesOf(checked.value)) as Role[]);
  const fields = checked.value;
  if (fields.minerSeed) runner.addSecret(fields.minerSeed);
  for (const note of checked.notes) reporter.info(note);
  reporter.info(`era ${era.id}: ${evidence}`);
  if (adapter.exposure) reporter.warn(adapter.exposure);

  const values = {volume: fields.cacheVolume, era: era.id, launcher};
  const printOut = !reporter.json && !ctx.options.verbose;
  const unsubscribe = runner.subscribe((e) => {
    if (printOut && e.type === 'line' && e.stream === 'out') process.stderr.write(`  ${e.text}\n`);
  });
  const onHint = (m: HintMatch) => {
    const action = actionFor(m.hint, values);
    if (reporter.json) reporter.event('hint', {id: m.hint.id, severity: m.hint.severity, title: m.hint.title, explanation: m.hint.explanation, action, line: m.line});
    else if (m.hint.severity !== 'info') process.stderr.write(`  ${m.hint.severity === 'ok' ? 'ok' : 'hint'}: ${m.hint.title}. ${m.hint.explanation}${action ? `\n    fix: ${action}` : ''}\n`);
  };
  let outcome;
  try {
    outcome = await launchVm(runner, {launcher, fields, era, verify: deps.verify, onHint});
  } finally {
    unsubscribe();
  }
  const argv = outcome.result.run.argv;
  const verdict = outcome.verdict?.verdict ?? null;
  const cwd = outcome.invocation.cwd ?? null;
  if (runner.dryRun) {
    reporter.print(cwd ? `cd ${shellLine([cwd])} && ${shellLine(argv)}` : shellLine(argv));
    reporter.result({ok: true, dryRun: true, launcher, era: era.id, argv, cwd, verdict}, '');
    return 0;
  }
  rememberLaunch(launcher, era.id, settingsNotice);
  const log = serialLog();
  reporter.result(
    {ok: true, launcher, era: era.id, pid: outcome.pid ?? null, launch: outcome.judged?.state ?? null, serialLog: log, argv, cwd, verdict},
    `VM launched${outcome.pid ? ` (pid ${outcome.pid})` : ''}\n  serial log: ${log}\nnext: tdx-wizard logs --follow   (watch the guest check its volumes)`,
  );
  return 0;
}


/** --miner-seed-file, then --miner-seed, then TDX_MINER_SEED, then a hidden prompt on a terminal. */
async function obtainSeed(ctx: CliContext, opts: Record<string, unknown>): Promise<string | undefined> {
  const {runner, reporter} = ctx;
  if (opts.minerSeedFile !== undefined && opts.minerSeed !== undefined) {
    throw new UsageError('both --miner-seed-file and --miner-seed were given', 'give the seed one way, preferably --miner-seed-file');
  }
  let seed: string | undefined;
  // Taken out of the environment at start (src/seed-env.ts): no program the wizard runs carries it.
  const envSeed = seedFromEnv();
  if (opts.minerSeedFile !== undefined) {
    const file = readSeedFile(String(opts.minerSeedFile));
    seed = file.seed;
    runner.addSecret(seed);
    if (file.warning) reporter.warn(file.warning, `chmod 600 ${String(opts.minerSeedFile)}`);
  } else if (opts.minerSeed !== undefined) {
    seed = String(opts.minerSeed);
    runner.addSecret(seed);
    reporter.warn('--miner-seed puts the seed on the command line: every user of this host can see it in ps, and it stays in your shell history', 'use --miner-seed-file FILE (mode 0600) or the TDX_MINER_SEED variable');
  } else if (envSeed) {
    seed = envSeed;
    runner.addSecret(seed);
  } else if (isInteractive()) {
    seed = await askHidden('Miner seed (64 hex characters; not shown as you type): ');
    runner.addSecret(seed);
  }
  return seed;
}

/** Reads a line from the terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          done();
          reject(new Cancelled('no miner seed given'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
