// Entry point. Decides between the interactive wizard (a terminal and no subcommand) and the
// scriptable subcommands. Ink and React are loaded only for the wizard.
import {Command, CommanderError} from 'commander';
import pkg from '../package.json' with {type: 'json'};
import {installSignalHandlers} from './cleanup.js';
import {register as registerCreate} from './commands/create.js';
import {register as registerInspect} from './commands/inspect.js';
import {register as registerRelabel} from './commands/relabel.js';
import {register as registerResize} from './commands/resize.js';

if (process.env.NO_COLOR && !process.env.FORCE_COLOR) process.env.FORCE_COLOR = '0'; // chalk ignores NO_COLOR

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${pkg.version}\n`);
  process.exit(0);
}

installSignalHandlers();

const program = new Command('tdx-wizard')
  .description('From a bare Intel TDX host to a running miner VM: host checks, NBD, the qcow2 cache volume, label repair, grow, launch, serial log.')
  .version(pkg.version, '-V, --version')
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

program.action(async () => {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write(
      'tdx-wizard: the interactive wizard needs a terminal. Without one, use the subcommands:\n' +
        '  tdx-wizard create <path> <size>   create the cache volume\n' +
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
