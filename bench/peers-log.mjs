// Benchmark 10: the log pane against the viewers an operator would open instead, each in its own
// tmux server of the same size (120x40), in the same run: `less +F`, `lnav` and `tail -F`.
// For each viewer:
//   - marker lag: one marker line appended after a quiet spell, until tmux's screen shows it;
//   - under 50,000 lines/s for 10 s (bench/serial-writer.mjs, every 10th line a marker with the
//     time it was written): the screen is read (`tmux capture-pane -p`) every 25 ms, and the age of
//     the newest marker on it is the capture's time (the middle of the capture command) minus that
//     marker's write time; median and p95 (tail -F and less +F can come out slightly negative: they are that fast);
//   - CPU over the writer's run: the viewer's process tree plus its terminal (the tmux server,
//     which also serves the captures: the same 40 a second for every viewer), as a share of a core;
//   - peak RSS of the viewer's process tree (VmHWM, summed);
//   - a 1 GB log: time from start to the first screen showing its last line (median of 3).
// The wizard runs as `tdx-wizard logs --follow --file F`, as an operator would on that terminal.
import {execFileSync, spawn, spawnSync} from 'node:child_process';
import {appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {bundleBench} from './bundle.mjs';
import {CLI, median, MiB, PATH, percentile, tempDir} from './lib.mjs';
import {nowMs} from './pty.mjs';
import {bigLog, markerLine, serialText} from './serial.mjs';

const COLS = 120;
const ROWS = 40;
const RATE = 50_000;
const SECONDS = 10;
const POLL_MS = 25;
const MARK = /mark (-?\d+) written (\d+\.\d+)/g;

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], {env: {...process.env, PATH}}).status === 0;

function viewers(dir) {
  // lnav's home must exist: without it lnav writes its configs/, formats/ and log_metadata.db into the current directory.
  mkdirSync(`${dir}/lnav-home/.config`, {recursive: true});
  const env = `TDX_WIZARD_STATE_DIR=${dir}/state TDX_WIZARD_CONFIG_DIR=${dir}/config TDX_WIZARD_PID_FILE=${dir}/no.pid TDX_WIZARD_SERIAL_LOG=${dir}/unused.log CI=false`;
  return [
    {name: 'wizard', argv: (f) => `env ${env} ${CLI} logs --follow --file ${f}`},
    {name: 'less +F', argv: (f) => `less -R +F ${f}`, package: 'less'},
    {name: 'lnav', argv: (f) => `env HOME=${dir}/lnav-home XDG_CONFIG_HOME=${dir}/lnav-home/.config lnav ${f}`, package: 'lnav', cmd: 'lnav'},
    {name: 'tail -F', argv: (f) => `tail -F -n ${ROWS} ${f}`},
  ];
}

let servers = 0;

class Tmux {
  constructor(name, command) {
    // A socket of its own each time: a new server on the socket of one just killed can find it
    // still going away ("server exited unexpectedly").
    this.socket = `tdxw-bench-${process.pid}-${name.replace(/\W/g, '')}-${servers++}`;
    this.tmux(['-f', '/dev/null', 'new-session', '-d', '-x', String(COLS), '-y', String(ROWS), `exec ${command}`]);
    this.tmux(['set-option', '-g', 'status', 'off']);
    this.server = Number(this.tmux(['display-message', '-p', '#{pid}']).trim());
    this.pane = Number(this.tmux(['list-panes', '-F', '#{pane_pid}']).trim());
  }
  tmux(args) {
    return execFileSync('tmux', ['-L', this.socket, ...args], {encoding: 'utf8', env: {...process.env, PATH, TERM: 'xterm-256color'}});
  }
  capture() {
    return this.tmux(['capture-pane', '-p']);
  }
  kill() {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** Every pid under root (root included), from /proc. */
function tree(root) {
  const parent = new Map();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

function cpu(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // gone
    }
  }
  return sum;
}

function rss(pids) {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      // gone
    }
  }
  return sum;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls the screen until it shows text; the time it did (nowMs), or NaN after timeoutMs. */
async function until(t, text, timeoutMs) {
  const end = nowMs() + timeoutMs;
  while (nowMs() < end) {
    if (t.capture().includes(text)) return nowMs();
    await sleep(5);
  }
  return NaN;
}

export async function follow(v, dir) {
  const file = join(dir, `${v.name.replace(/\W/g, '')}.log`);
  writeFileSync(file, serialText(64 * 1024));
  const t = new Tmux(v.name, v.argv(file));
  try {
    const shown = await until(t, 'Linux version', 15_000); // something of the log is on screen
    if (Number.isNaN(shown)) throw new Error(`${v.name} showed nothing of the log:\n${t.capture()}`);
    await sleep(1000);
    // One marker line after a quiet spell (median of 5).
    const lags = [];
    for (let k = 0; k < 5; k++) {
      const w = nowMs();
      appendFileSync(file, `${markerLine(9_000_000 + k, w)}\r\n`);
      lags.push(await until(t, `mark ${9_000_000 + k} `, 5000) - w);
      await sleep(300);
    }
    const idle = rss(tree(t.pane)); // started, the log on screen, a second of quiet: before the flood
    const viewerPids = () => tree(t.pane);
    const before = {viewer: cpu(viewerPids()), tmux: cpu([t.server])};
    const t0 = nowMs();
    const writer = spawn(process.execPath, ['bench/serial-writer.mjs', file, String(RATE), String(SECONDS), '10'], {stdio: ['ignore', 'pipe', 'inherit']});
    const done = new Promise((resolve) => writer.on('exit', resolve));
    let running = true;
    void done.then(() => (running = false));
    const ages = [];
    while (running) {
      const asked = nowMs();
      const screen = t.capture();
      const at = (asked + nowMs()) / 2; // the screen is of some moment during the capture: its middle
      let newest;
      for (const m of screen.matchAll(MARK)) if (Number(m[1]) >= 0 && Number(m[1]) < 9_000_000 && (!newest || Number(m[1]) > newest.seq)) newest = {seq: Number(m[1]), written: Number(m[2])};
      if (newest && at - t0 > 500) ages.push(at - newest.written); // the first half second: start-up of the writer
      await sleep(POLL_MS);
    }
    const seconds = (nowMs() - t0) / 1000;
    const viewerCpu = (cpu(viewerPids()) - before.viewer) / seconds;
    const tmuxCpu = (cpu([t.server]) - before.tmux) / seconds;
    const peak = rss(tree(t.pane));
    return {lag: median(lags), ageMedian: ages.length ? median(ages) : NaN, ageP95: ages.length ? percentile(ages, 95) : NaN, samples: ages.length, cpu: viewerCpu + tmuxCpu, viewerCpu, tmuxCpu, rss: peak, idleRss: idle};
  } finally {
    t.kill();
  }
}


/**
 * Where the wizard's peak RSS comes from: the peak (VmHWM) of Node doing nothing, and of Ink
 * drawing one line (bench/ink-floor.mjs, bundled as dist/ is), each 2 s after its start in a tmux
 * of the same size. (dist/cli.js's #! line passes Node no flag: scripts/build.mjs says why.)
 */
async function floors() {
  const dir = await bundleBench('ink-floor', ['bench/ink-floor.mjs']);
  const out = {};
  for (const [name, command] of [['node', 'node -e "setInterval(() => 0, 1000)"'], ['ink', `node ${join(dir, 'ink-floor.js')}`]]) {
    const t = new Tmux(`floor${name}`, command);
    try {
      await sleep(2000);
      out[name] = rss(tree(t.pane));
    } finally {
      t.kill();
    }
  }
  return out;
}

async function firstScreen(v, file) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const start = nowMs();
    const t = new Tmux(`${v.name}big`, v.argv(file));
    try {
      times.push(await until(t, 'mark 999999 ', 60_000) - start);
    } finally {
      t.kill();
    }
  }
  return median(times);
}

const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'never');
const pct = (v) => `${(v * 100).toFixed(1)}%`;
const mb = (v) => `${(v / MiB).toFixed(0)} MB`;

export async function benchLogPeers() {
  if (!has('tmux')) return [{benchmark: '10 log viewers', wizard: 'not run', reference: 'not run: tmux is missing (Debian package tmux)', ratio: '-', target: '-', pass: null}];
  const tmp = tempDir('tdxw-bench-peers-');
  try {
    const big = join(tmp.path, 'big.log');
    bigLog(big);
    const results = {};
    const missing = {};
    for (const v of viewers(tmp.path)) {
      if (v.cmd && !has(v.cmd)) {
        missing[v.name] = `not installed (Debian package ${v.package})`;
        continue;
      }
      process.stderr.write(`  ${v.name}...\n`);
      results[v.name] = {...(await follow(v, tmp.path)), first: await firstScreen(v, big)};
    }
    const w = results.wizard;
    const lnavIdle = () => (results.lnav ? `${mb(results.lnav.idleRss)} before, ${mb(results.lnav.rss)} after` : missing.lnav);
    const row = (what, key, fmt) => {
      const cells = Object.fromEntries(['less +F', 'lnav', 'tail -F'].map((n) => [n, missing[n] ?? (results[n] ? fmt(results[n][key]) : '-')]));
      return {benchmark: `10 ${what}`, wizard: fmt(w[key]), reference: Object.entries(cells).map(([n, c]) => `${n} ${c}`).join('; '), ratio: results['less +F'] ? (w[key] / results['less +F'][key]).toFixed(2) : '-', target: '-', pass: null};
    };
    const rows = [
      row('log viewers: single marker line, lag', 'lag', ms),
      row(`log viewers at ${RATE / 1000}k lines/s: newest line age, median`, 'ageMedian', ms),
      row(`log viewers at ${RATE / 1000}k lines/s: newest line age, p95`, 'ageP95', ms),
      row('log viewers: CPU, viewer + its tmux', 'cpu', pct),
      row('log viewers: peak RSS', 'rss', mb),
      ...(await floors().then((f) => [{benchmark: '10 log viewers: where the peak RSS comes from', wizard: `${mb(w.idleRss)} before the flood, ${mb(w.rss)} after`, reference: `Node alone ${mb(f.node)}; Ink drawing one line ${mb(f.ink)} (bundled as dist/ is); lnav ${lnavIdle()}`, ratio: '-', target: '-', pass: null}])),
      row('log viewers: 1 GB log, first screen', 'first', ms),
    ];
    const less = results['less +F'];
    const lnav = results.lnav;
    const behindLnav = lnav ? ['lag', 'ageMedian', 'ageP95', 'cpu', 'rss', 'first'].filter((k) => !(w[k] < lnav[k])) : [];
    rows.push(
      {benchmark: 'T log pane: newest line age median', wizard: ms(w.ageMedian), reference: '-', ratio: '-', target: '<= 60 ms', pass: w.ageMedian <= 60},
      {benchmark: 'T log pane: CPU against less +F', wizard: pct(w.cpu), reference: `${pct(less.cpu)} (less +F + tmux)`, ratio: (w.cpu / less.cpu).toFixed(2), target: '<= 0.6', pass: w.cpu / less.cpu <= 0.6},
      {benchmark: 'T log pane: peak RSS', wizard: mb(w.rss), reference: '-', ratio: '-', target: '<= 90 MB', pass: w.rss <= 90 * MiB},
      lnav
        ? {benchmark: 'T log pane ahead of lnav on every row', wizard: behindLnav.length ? `behind on ${behindLnav.join(', ')}` : 'ahead on all 6', reference: 'lnav', ratio: '-', target: 'all', pass: behindLnav.length === 0}
        : {benchmark: 'T log pane ahead of lnav on every row', wizard: 'not run', reference: missing.lnav, ratio: '-', target: 'all', pass: null},
    );
    return rows;
  } finally {
    tmp.remove();
  }
}
