// A serial line as the hints read it: colours and other escape sequences removed, and every
// carriage return (QEMU ends lines with CRLF; a CR inside a line is dropped, not obeyed).
import stripAnsi from 'strip-ansi';

// What strip-ansi's sequences start with (ESC and the C1 introducers), and CR.
const ESCAPED = /[\x1b\x90\x98\x9b\x9d-\x9f\r]/;

export function plainText(line: string): string {
  // Most lines hold no escape sequence: only the CR of QEMU's CRLF goes.
  return ESCAPED.test(line) ? stripAnsi(line).replace(/\r/g, '') : line;
}
