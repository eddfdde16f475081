// Benchmark 6's floor for the runner as it reads now: `sh -c SCRIPT` with its output in the
// runner's own pipe (src/runner/pipe.ts: a FIFO read by polling), every chunk read and dropped.
// Bundled by bench/output.mjs next to output-pane.tsx.
//   node null-reader-fifo.js SCRIPT
import {spawn} from 'node:child_process';
import {closeSync} from 'node:fs';
import {openOutputPipes, PipeReader} from '../src/runner/pipe.js';

const pipes = await openOutputPipes();
if (!pipes) throw new Error('no FIFO could be made (mkfifo, from coreutils)');
const child = spawn('sh', ['-c', process.argv[2]!], {stdio: ['ignore', pipes[0]!.writeFd, pipes[1]!.writeFd]});
for (const pipe of pipes) closeSync(pipe.writeFd);
let bytes = 0;
const readers = pipes.map((pipe) => new PipeReader(pipe.readFd, (chunk) => (bytes += chunk.length)));
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
for (const reader of readers) reader.nudge();
await Promise.all(readers.map((reader) => reader.done));
process.exitCode = code === 0 && bytes > 0 ? 0 : 1;
