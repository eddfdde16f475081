// The floor for benchmark 6: a Node program that runs `sh -c SCRIPT` with its output in a pipe and
// reads every chunk, doing nothing with it. Whatever the wizard does on top costs more than this.
import {spawn} from 'node:child_process';

const child = spawn('sh', ['-c', process.argv[2]], {stdio: ['ignore', 'pipe', 'inherit']});
let bytes = 0;
child.stdout.on('data', (chunk) => (bytes += chunk.length));
child.on('close', (code) => {
  process.exitCode = code ?? 1;
  if (!bytes) process.exitCode = 1;
});
