import {build} from 'esbuild';
import {bundleOptions} from './bundle-options.mjs';
const r = await build({...bundleOptions, entryPoints: ['src/cli.ts'], outdir: '/tmp/meta-out', metafile: true, write: false});
const ins = r.metafile.inputs;
const [from, to] = process.argv.slice(2);
const prev = new Map([[from, null]]); const q = [from];
while (q.length) { const x = q.shift(); for (const i of ins[x]?.imports ?? []) { if (!['import-statement', 'require-call'].includes(i.kind) || prev.has(i.path)) continue; prev.set(i.path, x); q.push(i.path); } }
if (!prev.has(to)) console.log(to, 'not reached'); else { const p = []; for (let x = to; x; x = prev.get(x)) p.unshift(x); console.log(p.join('\n  -> ')); }
