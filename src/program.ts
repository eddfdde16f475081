// The program: its global options, the checks every command line gets, and commander's errors
// with a fix. Run by both builds of a command: the ES module one (main.ts, which also has the
// wizard and help) and the one file of a single command (scripts/build.mjs).
import {Command, CommanderError} from 'commander';
import {COMMAND_NAMES, commandName, commandWord} from './command-names.js';
import {installSignalHandlers} from './cleanup.js';
import {takeSeedFromEnv} from './seed-env.js';
import {version} from './version.js';

export interface CommandModule {
  register(program: Command): void;
}

/** Runs the command line with these subcommands; `startWizard` answers a line with none. */
export async function runProgram(modules: readonly CommandModule[], startWizard?: (options: Record<string, unknown>) => Promise<number>): Promise<void> {
  takeSeedFromEnv(); // before anything can start a program that would inherit it
  installSignalHandlers();
  // Nothing left to wait for but the command not finished (a promise that never settles): a
  // failure, as Node's own exit code 13 for an unsettled top-level await said before the
  // commands' one-file builds, which have none.
  let settled = false;
  process.on('exit', (code) => {
    if (settled || code !== 0) return;
    process.stderr.write('tdx-wizard: the command stopped before it finished (nothing left to wait for); this is a bug\n');
    process.exitCode = 13;
  });
  try {
    await run(modules, startWizard);
  } finally {
    settled = true;
  }
}

async function run(modules: readonly CommandModule[], startWizard?: (options: Record<string, unknown>) => Promise<number>): Promise<void> {

  const program = new Command('tdx-wizard')
    .description('From a bare Intel TDX host to a running miner VM: host checks, NBD, the qcow2 cache volume, label repair, grow, launch, serial log.')
    .version(version, '-V, --version')
    .option('--json', 'print one JSON object a line (events, then a result) instead of text')
    .option('--dry-run', 'print the exact commands it would run, and run none')
    .option('--verbose', 'show every output line of the commands it runs')
    .option('--transcript-format <format>', 'log (default) or sh: also print what was done as a replayable shell script')
    .option('--no-color', 'no colour (also NO_COLOR=1 or TERM=dumb)')
    .configureOutput({outputError: (text, write) => write(withFix(text))})
    .exitOverride();
  for (const module of modules) module.register(program);

  // A word that is no subcommand reaches the wizard's own action: say so, as commander does for `nbd`.
  program.allowExcessArguments(true);
  program.action(async () => {
    if (program.args.length) program.error(`error: unknown command '${program.args[0]}'`, {code: 'commander.unknownCommand', exitCode: 2});
    if (!process.stdin.isTTY || !process.stdout.isTTY) {
      process.stderr.write(
        'tdx-wizard: the interactive wizard needs a terminal. Without one, use the subcommands:\n' +
          '  tdx-wizard check                  host checks\n' +
          '  tdx-wizard prepare --dir D --hostname H   every volume the guest needs (tdx-wizard eras)\n' +
          '  tdx-wizard create <path> <size>   create one volume (--role cache|storage|containerd)\n' +
          '  tdx-wizard verify <path>          will the VM accept it?\n' +
          '  tdx-wizard relabel | resize       repair the label, grow the volume\n' +
          '  tdx-wizard repair <path>          repair a damaged volume (e2fsck, xfs_repair)\n' +
          '  tdx-wizard nbd list               busy or stale /dev/nbdN devices\n' +
          '  tdx-wizard launch | status | stop | logs --follow   the VM and its serial log\n' +
          '  tdx-wizard apply HOST.yaml        bring this host to a host description (Ansible runs it)\n' +
          'Run tdx-wizard --help for all of them.\n',
      );
      process.exitCode = 2;
      return;
    }
    if (!startWizard) throw new Error('the wizard is not in this build of the command (cli.ts starts it through main.ts)');
    process.exitCode = await startWizard(program.opts());
  });

  // A flag given twice with two values is refused: the last one must not silently win.
  program.hook('preAction', (_program, command) => {
    const takesValue = new Set([...program.options, ...command.options].filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
    const repeatable = new Set(['--dir']); // collected on purpose (volumes --dir A --dir B)
    const seen = new Map<string, string>();
    const args = process.argv.slice(2);
    for (let i = 0; i < args.length && args[i] !== '--'; i++) {
      const [flag, inline] = args[i]!.split(/=(.*)/s) as [string, string | undefined];
      if (!takesValue.has(flag) || repeatable.has(flag)) continue;
      const value = inline ?? args[++i] ?? '';
      const before = seen.get(flag);
      if (before !== undefined && before !== value) {
        program.error(`error: ${flag} was given twice, as "${before}" and as "${value}"\n  fix: give ${flag} once, with the value you mean`, {code: 'tdx.repeatedOption', exitCode: 2});
      }
      seen.set(flag, value);
    }
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
}

/**
 * Commander's own errors (unknown command or option, a wrong choice, too many arguments) get what
 * every refusal gets: the right spelling when there is a likely one, and a fix line.
 */
function withFix(text: string): string {
  const message = text.trimEnd();
  if (/\n\s*fix: /.test(message)) return `${message}\n`; // ours, with its own fix
  const word = commandWord(process.argv.slice(2));
  const unknown = /unknown command '([^']+)'/.exec(message)?.[1];
  const known = [...COMMAND_NAMES, 'verify'];
  const suggestion = unknown ? (synonyms()[unknown] ?? closest(unknown, known)) : undefined;
  const help = word && commandName(word) && !unknown ? `tdx-wizard ${word} --help` : 'tdx-wizard --help';
  const fix = suggestion ? `did you mean: tdx-wizard ${suggestion}? (${help} lists the others)` : `${help} shows what it takes`;
  return `${message.replace(/\s*\(Did you mean [^)]*\)$/, '')}\n  fix: ${fix}\n`;
}

/** Words operators reach for, and the command that does it (a function: it is needed before this line runs). */
function synonyms(): Record<string, string> {
  return {
  disconnect: 'nbd detach', connect: 'nbd attach', umount: 'nbd detach', unmount: 'nbd detach', label: 'relabel', grow: 'resize',
  start: 'launch', run: 'launch', kill: 'stop', halt: 'stop', log: 'logs', tail: 'logs --follow', list: 'volumes', ls: 'volumes',
  'create-config': 'config-volume', config: 'config-volume', era: 'eras', image: 'inspect-image',
  fsck: 'repair', e2fsck: 'repair', xfs_repair: 'repair',
  };
}

/** The known word within two edits of what was typed, if one is. */
function closest(typed: string, words: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const d = Array.from({length: a.length + 1}, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  return words.map((w) => ({w, d: distance(typed, w)})).filter((x) => x.d <= (typed.length > 5 ? 2 : 1)).sort((a, b) => a.d - b.d)[0]?.w;
}
