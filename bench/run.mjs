// npm run bench: every benchmark, a table, and bench/results.json. Ratios against a reference
// measured in the same run matter more than absolute times on a shared machine.
//   node bench/run.mjs [name...]   runs only those (create, startup, first-frame, log-load, log-1g, output, prepare, raw, verify-set, log-peers)
import './snapshot.mjs'; // first: the build under test, copied (sets TDX_BENCH_CLI)
import {writeFileSync} from 'node:fs';
import {cpus, loadavg, totalmem} from 'node:os';
import {benchCreate} from './create.mjs';
import {benchLogBig, benchLogLoad} from './logs.mjs';
import {benchLogPeers} from './peers-log.mjs';
import {benchOutput} from './output.mjs';
import {benchPrepare, benchRaw, benchSetVerify} from './sets.mjs';
import {benchStartup, benchWizardStartup} from './startup.mjs';
import {table} from './lib.mjs';

// Node 20 reads NODE_EXTRA_CA_CERTS at start-up: 80-90 ms on these machines, whose environment
// sets it (nodejs/node#40524). The CLI's #! line starts Node without it; the other Node programs
// the benchmarks start (the references: `node -e 0`, bare Ink, benchmark 6's readers) are started
// without it too, so that the ratios compare like with like.
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
delete process.env.NODE_EXTRA_CA_CERTS;

const benchmarks = {
  create: benchCreate, // 1, 2
  startup: benchStartup, // 3
  'first-frame': benchWizardStartup, // 3b
  'log-load': benchLogLoad, // 4
  'log-1g': benchLogBig, // 5
  output: benchOutput, // 6
  prepare: benchPrepare, // 7
  raw: benchRaw, // 8
  'verify-set': benchSetVerify, // 9
  'log-peers': benchLogPeers, // 10 and the log pane's targets
};
const only = process.argv.slice(2);
const unknown = only.filter((name) => !(name in benchmarks));
if (unknown.length) {
  process.stderr.write(`unknown benchmark: ${unknown.join(', ')} (one of: ${Object.keys(benchmarks).join(', ')})\n`);
  process.exit(2);
}
const started = Date.now();
const loadBefore = loadavg()[0];
const rows = [];
for (const [name, bench] of Object.entries(benchmarks)) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`running ${name}...\n`);
  const t = Date.now();
  const load = loadavg()[0]; // other work on the machine shows in the absolute figures
  rows.push(...(await bench()).map((row) => ({...row, load: Number(load.toFixed(2))})));
  process.stderr.write(`  ${name}: ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
}
// pass null: not run on this machine (said in the row), or a row with no target (a breakdown, disk used): not counted.
const shown = rows.map(({load: _load, note: _note, profile: _profile, ...r}) => ({...r, pass: r.pass === null ? '-' : r.pass ? 'yes' : 'NO'}));
const counted = rows.filter((r) => r.pass !== null);
process.stdout.write(`${table(shown)}\n`);
for (const r of rows) if (r.note) process.stdout.write(`${r.note}\n`);
const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverage: {before: loadBefore, after: loadavg()[0]},
  nodeExtraCaCerts: extraCaCerts === undefined ? 'not set' : 'set in the environment: removed for every Node the benchmarks start',
};
const seconds = Math.round((Date.now() - started) / 1000);
writeFileSync('bench/results.json', `${JSON.stringify({date: new Date().toISOString(), seconds, machine, results: rows}, null, 2)}\n`);
process.stdout.write(`${counted.filter((r) => r.pass).length}/${counted.length} targets met in ${seconds} s; written bench/results.json (${machine.cpus} cores, ${machine.cpu}, load ${loadBefore.toFixed(1)} -> ${loadavg()[0].toFixed(1)})\n`);
