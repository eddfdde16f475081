// Entry point. Kept tiny so `tdx-wizard --version` answers before anything else loads; the
// subcommands load next, and Ink and React only when the interactive wizard starts.
import {takeSeedFromEnv} from './seed-env.js';
import {version} from './version.js';

takeSeedFromEnv(); // before anything can start a program that would inherit it

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
  await import('./main.js');
}
