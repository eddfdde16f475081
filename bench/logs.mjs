// Benchmarks 4 and 5: the serial log pane (`tdx-wizard logs --follow --file F` on a terminal,
// which opens the wizard's log pane) in a pseudo-terminal.
//
// 4. First 20 single lines, 150 ms apart (each must show). Then under load: a writer process
//    appends realistic serial lines at 50,000 lines/s for 20 s. Every 10th line is a marker with
//    a sequence number and the time it was written; the emulated screen is scanned after every
//    chunk the wizard writes, and a marker's latency is the time from its write to the arrival of
//    the first frame that shows it. (At 50,000 lines/s only the lines at
//    the end of the file when a frame is drawn can show, so the markers that show are a sample of
//    the newest lines at each frame: their age is how far the screen lags behind the file.)
//    Measured over the writer's run: the wizard's CPU (/proc/PID/stat utime+stime), its peak RSS
//    (VmHWM), and frames per second (Ink's synchronized-update sequences). The physical
//    reference runs in the same run: `tail -F F > /dev/null` for CPU, and a second `tail -F F`
//    into a pipe read here, for latency (every marker).
// 5. A pre-existing 1 GB serial log: the time from start to the first frame that shows the log's
//    last line, and the peak RSS once it shows. Reference: `tail -n 40 F` of the same file.
import {spawn} from 'node:child_process';
import {appendFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {CLI, median, MiB, percentile, tempDir, timed} from './lib.mjs';
import {cpuSeconds, nowMs, peakRss, startPty} from './pty.mjs';
import {bigLog, MARKER, markerLine, serialText} from './serial.mjs';

const QUIET_BASE = 10_000_000; // sequence numbers of the single lines written before the flood
const QUIET_LINES = 20;
const RATE = 50_000;
const SECONDS = 20;
const MARK_EVERY = 10;
const COLS = 120;
const ROWS = 40;

function wizardEnv(dir) {
  return {
    TDX_WIZARD_STATE_DIR: join(dir, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(dir, 'config'),
    TDX_WIZARD_PID_FILE: join(dir, 'no-vm.pid'),
    TDX_WIZARD_SERIAL_LOG: join(dir, 'unused.log'),
  };
}

/** First-seen times of markers, from screens or from a stream of text. */
class MarkerClock {
  seen = new Map(); // seq -> {written, at}
  note(text, at) {
    for (const m of text.matchAll(MARKER)) {
      const seq = Number(m[1]);
      if (!this.seen.has(seq)) this.seen.set(seq, {written: Number(m[2]), at});
    }
  }
  latencies(keep = (seq) => seq >= 0 && seq < QUIET_BASE) {
    return [...this.seen.entries()].filter(([seq]) => keep(seq)).map(([, v]) => v.at - v.written);
  }
}

function procStats(pid) {
  try {
    return {cpu: cpuSeconds(pid), rss: peakRss(pid)};
  } catch {
    return {cpu: NaN, rss: NaN};
  }
}

const ms = (v) => `${v.toFixed(0)} ms`;
const pct = (v) => `${(v * 100).toFixed(1)}%`;
const mb = (v) => `${(v / MiB).toFixed(0)} MB`;

export async function benchLogLoad() {
  const tmp = tempDir('tdxw-bench-log-');
  const file = join(tmp.path, 'tdx-guest-td.log');
  writeFileSync(file, serialText(64 * 1024));
  const screenClock = new MarkerClock();
  const wizard = startPty(CLI, ['logs', '--follow', '--file', file], {
    cols: COLS,
    rows: ROWS,
    env: wizardEnv(tmp.path),
    onScreen: (rows, at) => screenClock.note(rows().join('\n'), at),
  });
  const tailNull = spawn('tail', ['-F', '-n', '0', file], {stdio: 'ignore'});
  const tailPipe = spawn('tail', ['-F', '-n', '0', file], {stdio: ['ignore', 'pipe', 'ignore']});
  const tailClock = new MarkerClock();
  let carry = '';
  tailPipe.stdout.setEncoding('utf8').on('data', (text) => {
    const at = nowMs();
    const lines = (carry + text).split('\n');
    carry = lines.pop();
    tailClock.note(lines.join('\n'), at);
  });
  try {
    await wizard.waitFor('following', 15_000);
    await new Promise((r) => setTimeout(r, 500)); // let start-up settle
    // Single lines after a quiet spell: every one of them must show (no flood hides them).
    for (let k = 0; k < QUIET_LINES; k++) {
      appendFileSync(file, `${markerLine(QUIET_BASE + k, nowMs())}\r\n`);
      await new Promise((r) => setTimeout(r, 150));
    }
    await new Promise((r) => setTimeout(r, 300));
    const before = {wizard: procStats(wizard.pid), tail: procStats(tailNull.pid), frames: wizard.state.frames};
    const t0 = nowMs();
    const writer = spawn(process.execPath, ['bench/serial-writer.mjs', file, String(RATE), String(SECONDS), String(MARK_EVERY)], {stdio: ['ignore', 'pipe', 'inherit']});
    let out = '';
    writer.stdout.on('data', (d) => (out += d));
    const code = await new Promise((resolve) => writer.on('exit', resolve));
    if (code !== 0) throw new Error(`the serial writer failed (${code})`);
    const t1 = nowMs();
    const after = {wizard: procStats(wizard.pid), tail: procStats(tailNull.pid), frames: wizard.state.frames};
    const written = JSON.parse(out);
    // The last marker: how long until the screen has caught up with the end of the file.
    let caughtUp = NaN;
    try {
      caughtUp = (await wizard.waitFor('mark -1 ', 10_000)) - written.end;
    } catch {
      // reported as not caught up
    }
    const seconds = (t1 - t0) / 1000;
    const cpu = (after.wizard.cpu - before.wizard.cpu) / seconds;
    const tailCpu = (after.tail.cpu - before.tail.cpu) / seconds;
    const fps = (after.frames - before.frames) / seconds;
    const rss = procStats(wizard.pid).rss;
    const tailRss = procStats(tailNull.pid).rss;
    const lat = screenClock.latencies();
    const tailLat = tailClock.latencies();
    const med = median(lat);
    const p99 = percentile(lat, 99);
    const tMed = median(tailLat);
    const tP99 = percentile(tailLat, 99);
    const quiet = screenClock.latencies((seq) => seq >= QUIET_BASE);
    const tailQuiet = tailClock.latencies((seq) => seq >= QUIET_BASE);
    const qMed = median(quiet);
    const qMax = Math.max(...quiet);
    const rateNote = `${Math.round(written.lines / written.seconds)} lines/s for ${written.seconds.toFixed(1)} s`;
    const shown = `${lat.length} of ${written.markers} markers shown`;
    return [
      {benchmark: '4 log pane, single lines: latency median (max)', wizard: `${ms(qMed)} (${ms(qMax)}; ${quiet.length} of ${QUIET_LINES} shown)`, reference: `${median(tailQuiet).toFixed(1)} ms (tail -F)`, ratio: (qMed / median(tailQuiet)).toFixed(1), target: '<= 100 ms', pass: qMed <= 100 && quiet.length === QUIET_LINES},
      {benchmark: `4 log pane at ${RATE / 1000}k lines/s: latency median`, wizard: `${ms(med)} (${shown})`, reference: `${tMed.toFixed(1)} ms (tail -F, ${tailLat.length} markers)`, ratio: (med / tMed).toFixed(1), target: '<= 100 ms', pass: med <= 100},
      {benchmark: '4 log pane: latency p99', wizard: ms(p99), reference: `${tP99.toFixed(1)} ms (tail -F)`, ratio: (p99 / tP99).toFixed(1), target: '<= 250 ms', pass: p99 <= 250},
      {benchmark: '4 log pane: CPU', wizard: `${pct(cpu)} of a core`, reference: `${pct(tailCpu)} (tail -F > /dev/null; ${rateNote})`, ratio: (cpu / Math.max(tailCpu, 0.001)).toFixed(1), target: '<= 50%', pass: cpu <= 0.5},
      {benchmark: '4 log pane: peak RSS', wizard: mb(rss), reference: `${mb(tailRss)} (tail -F)`, ratio: (rss / tailRss).toFixed(1), target: '<= 150 MB', pass: rss <= 150 * MiB},
      {benchmark: '4 log pane: frames/s', wizard: `${fps.toFixed(1)}/s (end shown ${Number.isFinite(caughtUp) ? ms(caughtUp) : 'never'} after the writer stopped)`, reference: '-', ratio: '-', target: '<= 30/s', pass: fps <= 30 && Number.isFinite(caughtUp)},
    ];
  } finally {
    tailNull.kill();
    tailPipe.kill();
    await wizard.stop();
    tmp.remove();
  }
}

export async function benchLogBig() {
  const tmp = tempDir('tdxw-bench-biglog-');
  const file = join(tmp.path, 'tdx-guest-td.log');
  try {
    bigLog(file);
    const firsts = [];
    const rsses = [];
    for (let i = 0; i < 5; i++) {
      const wizard = startPty(CLI, ['logs', '--follow', '--file', file], {cols: COLS, rows: ROWS, env: wizardEnv(tmp.path)});
      try {
        const at = await wizard.waitFor('mark 999999 ', 15_000);
        firsts.push(at - wizard.started);
        await new Promise((r) => setTimeout(r, 300));
        rsses.push(procStats(wizard.pid).rss);
      } finally {
        await wizard.stop();
      }
    }
    const tails = [];
    for (let i = 0; i < 5; i++) tails.push(timed('tail', ['-n', String(ROWS), file]));
    const first = median(firsts);
    const rss = Math.max(...rsses);
    const tail = median(tails);
    return [
      {benchmark: '5 1 GB log: first frame', wizard: ms(first), reference: `${ms(tail)} (tail -n ${ROWS})`, ratio: (first / tail).toFixed(1), target: '<= 500 ms', pass: first <= 500},
      {benchmark: '5 1 GB log: peak RSS', wizard: mb(rss), reference: '-', ratio: '-', target: '<= 150 MB', pass: rss <= 150 * MiB},
    ];
  } finally {
    tmp.remove();
  }
}
