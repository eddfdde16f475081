// Benchmark 3 (first half): process start of the non-interactive CLI. The bundle loads no Ink.
import {CLI, median, timed} from './lib.mjs';

export function benchStartup() {
  const runs = [];
  const node = [];
  for (let i = 0; i < 15; i++) {
    runs.push(timed(process.execPath, [CLI, '--version']));
    node.push(timed(process.execPath, ['-e', '0']));
  }
  const ms = median(runs);
  return [{benchmark: '3 tdx-wizard --version', wizard: `${ms.toFixed(0)} ms`, reference: `${median(node).toFixed(0)} ms (node -e 0)`, ratio: (ms / median(node)).toFixed(2), target: '<= 150 ms', pass: ms <= 150}];
}
