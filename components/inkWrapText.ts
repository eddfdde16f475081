// Ink's wrap-text.js with a bounded cache; the bundle uses it in place of Ink's
// (scripts/bundle-options.mjs), for the reason given in inkMeasureText.ts.
import cliTruncate from 'cli-truncate';
import wrapAnsi from 'wrap-ansi';
import {BoundedCache} from './boundedCache.js';

type Wrap = 'wrap' | 'end' | 'middle' | 'truncate-end' | 'truncate' | 'truncate-middle' | 'truncate-start';

const cache = new BoundedCache<string>(1000);

export default function wrapText(text: string, maxWidth: number, wrapType: Wrap): string {
  const key = `${text}\0${maxWidth}\0${wrapType}`;
  let wrapped = cache.get(key);
  if (wrapped === undefined) {
    wrapped = text;
    if (wrapType === 'wrap') wrapped = wrapAnsi(text, maxWidth, {trim: false, hard: true});
    if (wrapType.startsWith('truncate')) {
      const position = wrapType === 'truncate-middle' ? 'middle' : wrapType === 'truncate-start' ? 'start' : 'end';
      wrapped = cliTruncate(text, maxWidth, {position});
    }
    cache.set(key, wrapped);
  }
  return wrapped;
}

/** Texts held (tests). */
export function wrappedTexts(): number {
  return cache.size;
}

/** Characters held (tests). */
export function wrappedChars(): number {
  return cache.chars;
}
