// The subcommands by name, and which word of a command line names one. No imports: the entry
// (cli.ts) reads this before it knows which build of a command to load.

export const COMMAND_NAMES = [
  'create',
  'config-volume',
  'inspect', // and verify
  'inspect-image',
  'relabel',
  'resize',
  'format',
  'repair',
  'check',
  'nbd',
  'launch',
  'status',
  'stop',
  'logs',
  'eras',
  'prepare',
  'volumes',
  'quick-launch-config',
  'apply',
  'trusted-storage',
] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/**
 * Commands that may show Ink's UI (`logs --follow` opens the log pane): they load through the
 * ES module build only. Every other command is also built as one file of its own with a code
 * cache (scripts/build.mjs, src/command-bundle.ts).
 */
export const UI_COMMANDS: readonly CommandName[] = ['logs'];

/** The first word that is not a global option (nor the value of one): the subcommand, if any. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--transcript-format') i++; // its value follows
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The command a word runs (`verify` is inspect's), or undefined for a word that is none. */
export function commandName(word: string | undefined): CommandName | undefined {
  const name = word === 'verify' ? 'inspect' : word;
  return (COMMAND_NAMES as readonly string[]).includes(name ?? '') ? (name as CommandName) : undefined;
}
