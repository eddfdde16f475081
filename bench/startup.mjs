// Benchmark 3: start-up.
//   3a. The non-interactive CLI: `tdx-wizard --version` (the bundle's entry loads no Ink), against
//       `node -e 0`.
//   3b. The interactive wizard in a pseudo-terminal: from spawn to the output chunk that puts its
//       first frame ("First-time setup" on the main menu) on the emulated screen. Reference: the
//       least an Ink program can do (bench/ink-hello.mjs: load Ink and React, draw one line).
import {join} from 'node:path';
import {CLI, median, tempDir, timed} from './lib.mjs';
import {startPty} from './pty.mjs';

export function benchStartup() {
  const runs = [];
  const node = [];
  for (let i = 0; i < 15; i++) {
    runs.push(timed(CLI, ['--version']));
    node.push(timed(process.execPath, ['-e', '0']));
  }
  const ms = median(runs);
  return [{benchmark: '3 tdx-wizard --version', wizard: `${ms.toFixed(0)} ms`, reference: `${median(node).toFixed(0)} ms (node -e 0)`, ratio: (ms / median(node)).toFixed(2), target: '<= 150 ms', pass: ms <= 150}];
}

/** Milliseconds from spawn to the first screen showing `text`. */
async function firstFrame([command, ...args], text, env) {
  const run = startPty(command, args, {cols: 120, rows: 40, env});
  try {
    return (await run.waitFor(text, 15_000)) - run.started;
  } finally {
    run.write('q');
    await run.stop();
  }
}

export async function benchWizardStartup() {
  const tmp = tempDir('tdxw-bench-start-');
  const env = {
    TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'),
    TDX_WIZARD_PID_FILE: join(tmp.path, 'no-vm.pid'),
    TDX_WIZARD_SERIAL_LOG: join(tmp.path, 'no.log'),
  };
  try {
    const wizard = [];
    const hello = [];
    for (let i = 0; i < 7; i++) {
      wizard.push(await firstFrame([CLI], 'First-time setup', env));
      hello.push(await firstFrame([process.execPath, 'bench/ink-hello.mjs'], 'First-time setup', env));
    }
    const ms = median(wizard);
    const ref = median(hello);
    return [{benchmark: '3b wizard first frame (pty)', wizard: `${ms.toFixed(0)} ms`, reference: `${ref.toFixed(0)} ms (bare Ink, one line)`, ratio: (ms / ref).toFixed(2), target: '<= 400 ms', pass: ms <= 400}];
  } finally {
    tmp.remove();
  }
}
