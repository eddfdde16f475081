// The ES module build of the command line: help, unknown words, the wizard's door, and the
// commands that may show Ink's UI. Loaded by cli.ts when no one-file build of a command answers.
import type {CommandName} from './command-names.js';
import {commandName, commandWord} from './command-names.js';
import {runProgram, type CommandModule} from './program.js';

// Each subcommand's module is loaded only when its name is the first word: `verify` does not load
// the launcher's SS58 hashing or the settings store. Help and unknown words load them all; the
// wizard (no word) loads none of them.
const commands: Record<CommandName, () => Promise<CommandModule>> = {
  create: () => import('./commands/create.js'),
  'config-volume': () => import('./commands/config-volume.js'),
  inspect: () => import('./commands/inspect.js'), // and verify
  'inspect-image': () => import('./commands/inspect-image.js'),
  relabel: () => import('./commands/relabel.js'),
  resize: () => import('./commands/resize.js'),
  format: () => import('./commands/format.js'),
  repair: () => import('./commands/repair.js'),
  check: () => import('./commands/check.js'),
  nbd: () => import('./commands/nbd.js'),
  launch: () => import('./commands/launch.js'),
  status: () => import('./commands/status.js'),
  stop: () => import('./commands/stop.js'),
  logs: () => import('./commands/logs.js'),
  eras: () => import('./commands/eras.js'),
  prepare: () => import('./commands/prepare.js'),
  volumes: () => import('./commands/volumes.js'),
  'quick-launch-config': () => import('./commands/quick-launch-config.js'),
  apply: () => import('./commands/apply.js'),
  'trusted-storage': () => import('./commands/trusted-storage.js'),
};
const args = process.argv.slice(2);
const word = commandWord(args);
const name = commandName(word);
const wanted = name ? [commands[name]] : word !== undefined || args.some((a) => a === '-h' || a === '--help') ? Object.values(commands) : [];
const modules = await Promise.all(wanted.map((load) => load()));
await runProgram(modules, async (options) => (await import('./wizard.js')).startWizard(options));
