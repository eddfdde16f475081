// Entry point. Kept tiny so `tdx-wizard --version` answers before anything else loads; the
// subcommands load next, and Ink and React only when the interactive wizard starts.
import {version} from './version.js';

if (process.env.NO_COLOR && !process.env.FORCE_COLOR) process.env.FORCE_COLOR = '0'; // chalk ignores NO_COLOR
// React's development build (what it loads when NODE_ENV is unset) costs the wizard a multiple of
// its render time and memory: dev checks, component stacks and performance marks on every render.
process.env.NODE_ENV ??= 'production';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${version}\n`);
} else {
  await import('./main.js');
}
