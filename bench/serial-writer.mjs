// Appends serial lines to a file at a fixed rate, as QEMU's serial console would under a chatty
// guest: node bench/serial-writer.mjs FILE LINES_PER_SECOND SECONDS MARK_EVERY
// Writes every 5 ms what is due by then (one write per batch, O_APPEND); every MARK_EVERY-th line
// is a marker carrying its sequence number and the time of the write. At the end it writes a last
// marker, `mark -1`, and prints {lines, seconds, markers} as JSON.
import {closeSync, openSync, writeSync} from 'node:fs';
import {markerLine, serialLine} from './serial.mjs';
import {nowMs} from './pty.mjs';

const [file, rateArg, secondsArg, markArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const markEvery = Number(markArg);
const fd = openSync(file, 'a');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const start = nowMs();
let written = 0;
let seq = 0;
for (;;) {
  const now = nowMs();
  const elapsed = (now - start) / 1000;
  const due = Math.min(Math.floor(rate * elapsed), Math.floor(rate * seconds)) - written;
  if (due > 0) {
    const lines = new Array(due);
    for (let k = 0; k < due; k++) {
      const i = written + k;
      lines[k] = i % markEvery === markEvery - 1 ? markerLine(seq++, now) : serialLine(i);
    }
    writeSync(fd, `${lines.join('\r\n')}\r\n`);
    written += due;
  }
  if (elapsed >= seconds) break;
  Atomics.wait(sleeper, 0, 0, 5);
}
const end = nowMs();
writeSync(fd, `${markerLine(-1, end)}\r\n`);
closeSync(fd);
process.stdout.write(`${JSON.stringify({lines: written, seconds: (end - start) / 1000, markers: seq, end})}\n`);
