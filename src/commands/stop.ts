// tdx-wizard stop: the launcher's own stop (--clean), after a confirmation, confirmed from the pid
// file and /proc. --clean kills QEMU (SIGTERM): the guest gets no shutdown, but no data the wizard
// manages is destroyed, so a plain yes (or --yes) is enough.
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {askYesNo} from '../cli/prompt.js';
import {UsageError} from '../errors.js';
import {shellLine} from '../runner/mask.js';
import {adapterFor} from '../vm/adapters/index.js';
import {launchEra} from '../vm/launch-era.js';
import {readPidFile, stopVm, untrustedPidFile} from '../vm/launcher.js';
import {findLauncher} from '../vm/launcher-path.js';

export function register(program: Command): void {
  program
    .command('stop')
    .description('stop the VM the way its launcher does (run-tdx.sh/run-vm.sh --clean, run-td --clean; QEMU is killed, the guest does not shut down cleanly)')
    .option('--launcher <path>', 'the upstream launcher (default: the one remembered, else ./run-tdx.sh, ./run-td or ./host-tools/scripts/run-td)')
    .option('--era <id>', 'the upstream era (default: told from the launcher\'s files, else the one remembered)')
    .option('--yes', 'do not ask')
    .action(action('stop', (ctx, _args, opts) => stop(ctx, opts)));
}

async function stop(ctx: CliContext, opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  const before = readPidFile();
  if (before.state === 'absent') {
    reporter.result({ok: true, stopped: false, running: false}, 'No VM is running (no pid file): nothing to stop.');
    return 0;
  }
  if (before.state === 'untrusted') throw untrustedPidFile(before);
  const launcher = findLauncher(
    opts.launcher === undefined ? undefined : String(opts.launcher),
    process.cwd(),
    (text) => reporter.warn(text, 'nothing to fix for this run; the broken file is kept for you to look at, delete it when done'),
    opts.era,
  );
  // Stopping needs only the launcher's kind, so the remembered era is not held against it here.
  const {era} = await launchEra(launcher, opts.era);
  const what = before.state === 'running' ? `the VM (pid ${before.pid})` : before.state === 'stale' ? 'the leftovers of a VM that has ended' : 'the VM (its pid file is unreadable)';
  if (!opts.yes && !runner.dryRun) {
    const yes = await askYesNo(`Stop ${what}? QEMU is killed at once; the guest does not shut down cleanly.`, '--yes');
    if (!yes) throw new UsageError('not confirmed: the VM keeps running');
  }
  const {result} = await stopVm(runner, launcher, undefined, era);
  if (runner.dryRun) {
    const cwd = adapterFor(era).stopInvocation(launcher).cwd;
    reporter.print(cwd ? `cd ${shellLine([cwd])} && ${shellLine(result.run.argv)}` : shellLine(result.run.argv));
    reporter.result({ok: true, dryRun: true, argv: result.run.argv, cwd: cwd ?? null}, '');
    return 0;
  }
  const pid = 'pid' in before ? before.pid : undefined;
  reporter.result({ok: true, stopped: true, pid: pid ?? null}, `Stopped ${what}.`);
  return 0;
}
