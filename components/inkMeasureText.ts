// Ink's measure-text.js with a bounded cache; the bundle uses it in place of Ink's
// (scripts/bundle-options.mjs). Ink's cache keeps every text it measured, and every frame of a log
// pane under a flood of serial lines (or of the output pane under a chatty command) is a new text:
// the process grew by each frame, for as long as the pane was open.
import widestLine from './fastWidestLine.js'; // Ink's measure-text gets this one in the bundle too
import {BoundedCache} from './boundedCache.js';

/** Exported for the tests, which read its size. */
export const measured = new BoundedCache<{width: number; height: number}>(1000);

export default function measureText(text: string): {width: number; height: number} {
  if (text.length === 0) return {width: 0, height: 0};
  let dimensions = measured.get(text);
  if (!dimensions) {
    dimensions = {width: widestLine(text), height: text.split('\n').length};
    measured.set(text, dimensions);
  }
  return dimensions;
}
