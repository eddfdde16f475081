// Entry point. Kept tiny so `tdx-wizard --version` answers before anything else loads; then a
// command's one-file build if it has one (src/command-bundle.ts), else the ES module build
// (main.ts): help, the wizard, and Ink and React only when the UI starts. Nothing here keeps
// state: the two builds each have their own copy of every module.
import {fileURLToPath} from 'node:url';
import {commandName, commandWord, UI_COMMANDS} from './command-names.js';
import {runCommandBundle} from './command-bundle.js';
import {version} from './version.js';

// The #! line (scripts/build.mjs) keeps NODE_EXTRA_CA_CERTS from Node's start-up; the commands
// the wizard runs get it back, unchanged.
const caCerts = process.env.TDX_WIZARD_NODE_EXTRA_CA_CERTS;
if (caCerts !== undefined) {
  delete process.env.TDX_WIZARD_NODE_EXTRA_CA_CERTS;
  if (caCerts) process.env.NODE_EXTRA_CA_CERTS = caCerts;
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
