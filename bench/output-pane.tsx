// Benchmark 6's program (bundled by bench/output.mjs with esbuild, run in a pseudo-terminal): what
// the wizard does while a step runs a chatty command. The store, the Runner and a transcript as
// WizardController sets them up, and components/OutputPane drawn by Ink with the wizard's render
// options. It runs `sh -c SCRIPT` through Runner.run and writes {ms, lines, rss, ...} as JSON to
// RESULT_FILE.
//   node output-pane.mjs RESULT_FILE SCRIPT
import {readFileSync, writeFileSync} from 'node:fs';
import {loadAsTheUi} from '../src/load-ui.js';
import {Runner} from '../src/runner/runner.js';
import {Transcript} from '../src/runner/transcript.js';
import {createAppStore} from '../src/store.js';

// Ink loads as the wizard loads it (src/load-ui.ts: its V8 settings, without undici).
const [{render}, {OutputPane}] = await loadAsTheUi(() => Promise.all([import('ink'), import('../components/OutputPane.js')]));
const [resultFile, script] = process.argv.slice(2) as [string, string];
const store = createAppStore();
const runner = new Runner({store});
const transcript = Transcript.open('bench');
transcript.attach(runner);
let chunks = 0; // output chunks as read (one 'raw' event each)
runner.subscribe((event) => {
  if (event.type === 'raw') chunks++;
});
const columns = process.stdout.columns || 120;
const rows = process.stdout.rows || 40;
const app = render(<OutputPane store={store} width={columns} height={rows - 1} collapseOnSuccess={false} />, {exitOnCtrlC: false, patchConsole: false, maxFps: 30});

// The wizard has run commands before this one: execa (loaded on first use) is loaded already.
await runner.run({cmd: 'true', args: [], title: 'warm-up'});
chunks = 0;
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const result = await runner.run({cmd: 'sh', args: ['-c', script], title: 'Write the inode tables'});
const ms = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 200)); // the last frame
app.unmount();
transcript.close();
const status = readFileSync('/proc/self/status', 'utf8');
const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
const cpu = process.cpuUsage();
writeFileSync(
  resultFile,
  JSON.stringify({ms, lines: result.run.lines.total, exitCode: result.exitCode, rss: kb('VmHWM'), cpuMs: (cpu.user + cpu.system) / 1000, ticks: store.getState().outputTick, chunks, rssBefore}),
);
process.exit(0);
