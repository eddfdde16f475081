// widest-line (Ink measures every Text with it, twice a frame) with fastOutput's fast path: a line
// of single-column characters and colour codes is measured by counting, not by string-width's
// grapheme walk (6-7 ms of each log pane frame under a flood). Any other line goes to string-width.
import stringWidth from 'string-width';
import {simpleWidth} from './fastOutput.js';

export default function widestLine(text: string): number {
  let widest = 0;
  for (const line of text.split('\n')) widest = Math.max(widest, simpleWidth(line)?.width ?? stringWidth(line));
  return widest;
}
