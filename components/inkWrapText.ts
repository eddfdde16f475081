// Ink's wrap-text.js with a bounded cache; the bundle uses it in place of Ink's
// (scripts/bundle-options.mjs), for the reason given in inkMeasureText.ts.
import cliTruncate from 'cli-truncate';
import wrapAnsi from 'wrap-ansi';
import {BoundedCache} from './boundedCache.js';

type Wrap = 'wrap' | 'end' | 'middle' | 'truncate-end' | 'truncate' | 'truncate-middle' | 'truncate-start';

/** Exported for the tests, which read its size. */
export const wrapped = new BoundedCache<string>(1000);

export default function wrapText(text: string, maxWidth: number, wrapType: Wrap): string {
  const key = `${text}\0${maxWidth}\0${wrapType}`;
  let result = wrapped.get(key);
  if (result === undefined) {
    result = text;
    if (wrapType === 'wrap') result = wrapAnsi(text, maxWidth, {trim: false, hard: true});
    if (wrapType.startsWith('truncate')) {
      const position = wrapType === 'truncate-middle' ? 'middle' : wrapType === 'truncate-start' ? 'start' : 'end';
      result = cliTruncate(text, maxWidth, {position});
    }
    wrapped.set(key, result);
  }
  return result;
}
