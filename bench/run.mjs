// npm run bench: every benchmark, a table, and bench/results.json. Ratios against a reference
// measured in the same run matter more than absolute times on a shared machine.
import {writeFileSync} from 'node:fs';
import {cpus, totalmem} from 'node:os';
import {benchCreate} from './create.mjs';
import {benchStartup} from './startup.mjs';
import {table} from './lib.mjs';

const only = process.argv.slice(2);
const benchmarks = {create: benchCreate, startup: benchStartup};
const rows = [];
for (const [name, bench] of Object.entries(benchmarks)) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`running ${name}...\n`);
  rows.push(...(await bench()));
}
const shown = rows.map((r) => ({...r, pass: r.pass ? 'yes' : 'NO'}));
process.stdout.write(`${table(shown)}\n`);
const machine = {cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version};
writeFileSync('bench/results.json', `${JSON.stringify({date: new Date().toISOString(), machine, results: rows}, null, 2)}\n`);
process.stdout.write(`written bench/results.json (${machine.cpus} cores, ${machine.cpu})\n`);
