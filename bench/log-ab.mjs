// The log pane's half of benchmark 10, quick, for comparing builds side by side with `less +F`:
//   node bench/log-ab.mjs [NAME=CLI ...] [less] [lnav]   e.g. before=/tmp/old-dist/cli.js after=dist/cli.js less
// Each viewer in its own tmux of 120x40: marker lag, then 50,000 lines/s for 10 s (age of the
// newest line on screen, CPU of the viewer plus its tmux, peak RSS), as bench/peers-log.mjs
// measures them; ROUNDS=N alternates the viewers N times. A build elsewhere must be a whole
// dist/ (bundled: it needs no node_modules).
import {mkdirSync, readFileSync} from 'node:fs';
import {tempDir} from './lib.mjs';
import {follow} from './peers-log.mjs';

const tmp = tempDir('tdxw-log-ab-');
const dir = tmp.path;
mkdirSync(`${dir}/lnav-home/.config`, {recursive: true}); // lnav writes into the current directory without a home
const env = `TDX_WIZARD_STATE_DIR=${dir}/state TDX_WIZARD_CONFIG_DIR=${dir}/config TDX_WIZARD_PID_FILE=${dir}/no.pid TDX_WIZARD_SERIAL_LOG=${dir}/unused.log CI=false`;
const args = process.argv.slice(2);
const viewers = (args.length ? args : ['wizard=dist/cli.js', 'less']).map((a) => {
  if (a === 'less') return {name: 'less +F', argv: (f) => `less -R +F ${f}`};
  if (a === 'lnav') return {name: 'lnav', argv: (f) => `env HOME=${dir}/lnav-home XDG_CONFIG_HOME=${dir}/lnav-home/.config lnav ${f}`};
  const [name, cli] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : ['wizard', a];
  return {name, argv: (f) => `env ${env} ${cli} logs --follow --file ${f}`};
});
try {
  for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++) {
    for (const v of viewers) {
      const r = await follow(v, dir);
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(`${v.name.padEnd(10)} lag ${r.lag.toFixed(0)} ms, age median ${r.ageMedian.toFixed(0)} ms, p95 ${r.ageP95.toFixed(0)} ms, cpu ${(r.cpu * 100).toFixed(1)}% (viewer ${(r.viewerCpu * 100).toFixed(1)} + tmux ${(r.tmuxCpu * 100).toFixed(1)}), peak rss ${(r.rss / 2 ** 20).toFixed(0)} MB (load ${load})`);
    }
  }
} finally {
  tmp.remove();
}
