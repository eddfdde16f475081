// Benchmark 6: a command printing 1,000,000 lines through the runner into the output pane, against
// the same command with its output to /dev/null. For scale, more references: the output into
// `cat > /dev/null` (what a pipe alone costs when the command writes a line at a time), and read by
// a Node program that does nothing with it, through Node's own pipes (bench/null-reader.mjs) and
// through the runner's (bench/null-reader-fifo.ts): the floor for the runner.
// bench/output-pane.tsx is bundled with esbuild and run in a pseudo-terminal: store + Runner +
// transcript as the wizard sets them up, components/OutputPane drawn by Ink.
import {spawnSync} from 'node:child_process';
import {readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {bundleBench} from './bundle.mjs';
import {median, MiB, tempDir} from './lib.mjs';
import {startPty} from './pty.mjs';

const LINES = 1_000_000;
const ROUNDS = 3;
// mke2fs-like lines, one write each (a shell loop: every printf is a write to the pipe).
export const SCRIPT = `i=0; while [ $i -lt ${LINES} ]; do printf 'Allocating group tables: %7d/${LINES}   done; inode table at %d-%d (+%d)\\n' $i $((i*512+1058)) $((i*512+1569)) 1058; i=$((i+1)); done`;

export async function bundle() {
  const outdir = await bundleBench('output-pane', ['bench/output-pane.tsx', 'bench/null-reader-fifo.ts']);
  return {pane: join(outdir, 'output-pane.js'), fifoReader: join(outdir, 'null-reader-fifo.js')};
}

/**
 * Wall ms of the script with its output to /dev/null, into `cat`, or read by a Node program that
 * does nothing with it: through Node's own pipes (a socket pair), or through the runner's (a FIFO, polled).
 */
function plain(script, how, fifoReader) {
  const [cmd, args] = {
    null: ['sh', ['-c', script]],
    cat: ['sh', ['-c', `{ ${script}; } | cat > /dev/null`]],
    node: [process.execPath, ['bench/null-reader.mjs', script]],
    fifo: [process.execPath, [fifoReader, script]],
  }[how];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {stdio: ['ignore', 'ignore', 'inherit']});
  if (r.status !== 0) throw new Error(`${how} reference failed (${r.status})`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function throughPane(entry, script, dir) {
  const resultFile = join(dir, `result-${Date.now()}.json`);
  rmSync(resultFile, {force: true});
  // TDX_BENCH_NODE_FLAGS: V8 flags for experiments (say --max-semi-space-size=4).
  const run = startPty(process.execPath, [...(process.env.TDX_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), entry, resultFile, script], {cols: 120, rows: 40, env: {TDX_WIZARD_STATE_DIR: join(dir, 'state')}});
  const code = await run.exit;
  if (code !== 0) throw new Error(`the output pane bench exited ${code}:\n${run.screen()}`);
  const result = JSON.parse(readFileSync(resultFile, 'utf8'));
  const lastShown = run.screen().includes(`${LINES - 1}/${LINES}`);
  return {...result, frames: run.state.frames, lastShown};
}

export async function benchOutput() {
  const tmp = tempDir('tdxw-bench-output-');
  try {
    const {pane: entry, fifoReader} = await bundle();
    const nul = [];
    const cat = [];
    const node = [];
    const fifo = [];
    const pane = [];
    for (let i = 0; i < ROUNDS; i++) {
      nul.push(plain(SCRIPT, 'null'));
      cat.push(plain(SCRIPT, 'cat'));
      node.push(plain(SCRIPT, 'node'));
      fifo.push(plain(SCRIPT, 'fifo', fifoReader));
      pane.push(await throughPane(entry, SCRIPT, tmp.path));
    }
    if (pane.some((p) => p.lines !== LINES || p.exitCode !== 0)) throw new Error(`the pane saw ${pane.map((p) => p.lines).join(', ')} lines, not ${LINES}`);
    const nulMs = median(nul);
    const catMs = median(cat);
    const nodeMs = median(node);
    const fifoMs = median(fifo);
    const paneMs = median(pane.map((p) => p.ms));
    const rss = Math.max(...pane.map((p) => p.rss));
    const fps = median(pane.map((p) => p.frames / (p.ms / 1000)));
    const shown = pane.every((p) => p.lastShown);
    const ratio = paneMs / nulMs;
    return [
      {benchmark: '6 1M lines through the output pane: time', wizard: `${(paneMs / 1000).toFixed(2)} s (${fps.toFixed(0)} frames/s${shown ? '' : ', last line NOT shown'})`, reference: `${(nulMs / 1000).toFixed(2)} s (> /dev/null); | cat ${(catMs / nulMs).toFixed(2)}x; Node reading, nothing else: Node's pipe ${(nodeMs / nulMs).toFixed(2)}x, the runner's ${(fifoMs / nulMs).toFixed(2)}x`, ratio: ratio.toFixed(2), target: '<= 1.5', pass: ratio <= 1.5 && shown},
      {benchmark: '6 output pane: peak RSS', wizard: `${(rss / MiB).toFixed(0)} MB`, reference: '-', ratio: '-', target: '<= 150 MB', pass: rss <= 150 * MiB},
    ];
  } finally {
    tmp.remove();
  }
}
