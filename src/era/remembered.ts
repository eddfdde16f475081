// The era the operator chose last time, read straight from the settings file: verify and create
// stay fast (no settings library loaded) and a missing or broken file simply means "none".
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {configDir} from '../paths.js';
import {chooseEra} from './choose.js';
import type {Era} from './eras.js';

export function rememberedEra(dir = configDir()): string | undefined {
  try {
    const value = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {era?: unknown}).era;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `--era`, else the remembered era, else the document's. */
export function eraFromOption(option: unknown): Era {
  return chooseEra(option, rememberedEra());
}
