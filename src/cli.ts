// Entry point. Kept tiny so `tdx-wizard --version` answers before anything else loads; then a
// command's one-file build if it has one (src/command-bundle.ts), else the ES module build
// (main.ts): help, the wizard, and Ink and React only when the UI starts. Nothing here keeps
// state: the two builds each have their own copy of every module.
import {fileURLToPath} from 'node:url';
import {commandName, commandWord, UI_COMMANDS} from './command-names.js';
import {runCommandBundle} from './command-bundle.js';
import {version} from './version.js';

// The #! line (scripts/build.mjs) keeps NODE_EXTRA_CA_CERTS from Node's start-up and starts it
// with MALLOC_ARENA_MAX=1; the commands the wizard runs get both back as they were (unset or empty:
// none).
for (const [name, keptAs] of [
  ['NODE_EXTRA_CA_CERTS', 'TDXW_CA'],
  ['MALLOC_ARENA_MAX', 'TDXW_ARENA'],
] as const) {
  const kept = process.env[keptAs];
  if (kept === undefined) continue; // not started through the #! line
  delete process.env[keptAs];
  if (kept) process.env[name] = kept;
  else delete process.env[name];
}
if (process.env.NO_COLOR && !process.env.FORCE_COLOR) process.env.FORCE_COLOR = '0'; // chalk ignores NO_COLOR

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${version}\n`);
} else {
  const name = commandName(commandWord(args));
  const bundle = name && !UI_COMMANDS.includes(name) ? fileURLToPath(new URL(`./cmd/${name}.cjs`, import.meta.url)) : undefined;
  if (!bundle || !runCommandBundle(bundle)) void import('./main.js'); // the ES module build (dist/esm/)
}
