// The subcommands and the wizard's door. Loaded by cli.ts after the fast paths.
import {Command, CommanderError} from 'commander';
import {version} from './version.js';
import {installSignalHandlers} from './cleanup.js';
import {register as registerCheck} from './commands/check.js';
import {register as registerCreate} from './commands/create.js';
import {register as registerFormat} from './commands/format.js';
import {register as registerInspect} from './commands/inspect.js';
import {register as registerRelabel} from './commands/relabel.js';
import {register as registerLaunch} from './commands/launch.js';
import {register as registerLogs} from './commands/logs.js';
import {register as registerNbd} from './commands/nbd.js';
import {register as registerStatus} from './commands/status.js';
import {register as registerStop} from './commands/stop.js';
import {register as registerResize} from './commands/resize.js';

installSignalHandlers();

const program = new Command('tdx-wizard')
  .description('From a bare Intel TDX host to a running miner VM: host checks, NBD, the qcow2 cache volume, label repair, grow, launch, serial log.')
  .version(version, '-V, --version')
  .option('--json', 'print one JSON object a line (events, then a result) instead of text')
  .option('--dry-run', 'print the exact commands it would run, and run none')
  .option('--verbose', 'show every output line of the commands it runs')
  .option('--transcript-format <format>', 'log (default) or sh: also print what was done as a replayable shell script')
  .option('--no-color', 'no colour (also NO_COLOR=1 or TERM=dumb)')
  .showHelpAfterError('(run tdx-wizard --help for usage)')
  .exitOverride();

registerCreate(program);
registerInspect(program);
registerRelabel(program);
registerResize(program);
registerFormat(program);
registerCheck(program);
registerNbd(program);
registerLaunch(program);
registerStatus(program);
registerStop(program);
registerLogs(program);

// A word that is no subcommand reaches the wizard's own action: say so, as commander does for `nbd`.
program.allowExcessArguments(true);
program.action(async () => {
  if (program.args.length) program.error(`error: unknown command '${program.args[0]}'`, {code: 'commander.unknownCommand', exitCode: 2});
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      'tdx-wizard: the interactive wizard needs a terminal. Without one, use the subcommands:\n' +
        '  tdx-wizard check                  host checks\n' +
        '  tdx-wizard create <path> <size>   create the cache volume\n' +
        '  tdx-wizard verify <path>          will the VM accept it?\n' +
        '  tdx-wizard relabel | resize       repair the label, grow the volume\n' +
        '  tdx-wizard nbd list               busy or stale /dev/nbdN devices\n' +
        '  tdx-wizard launch | status | stop | logs --follow   the VM and its serial log\n' +
        'Run tdx-wizard --help for all of them.\n',
    );
    process.exitCode = 2;
    return;
  }
  const {startWizard} = await import('./wizard.js');
  process.exitCode = await startWizard(program.opts());
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code) ? 0 : 2;
  } else {
    process.stderr.write(`tdx-wizard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
