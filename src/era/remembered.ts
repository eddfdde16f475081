// The era the operator chose before, read straight from the settings file: a command that only
// needs this one value neither loads the settings store (conf and ajv) nor, as that store's first
// read would, creates the settings directory and file.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {configDir} from '../paths.js';

export function rememberedEra(): string | undefined {
  try {
    const era = (JSON.parse(readFileSync(join(configDir(), 'config.json'), 'utf8')) as {era?: unknown}).era;
    return typeof era === 'string' ? era : undefined;
  } catch {
    return undefined; // no file, or a broken one: the wizard moves that aside when it loads it
  }
}
