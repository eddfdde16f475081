// Field validators for the wizard's forms: the same checks the CLI makes, as values instead of
// exceptions, so a field can say what is wrong while the operator types.
import {existsSync, lstatSync, statSync} from 'node:fs';
import {homedir} from 'node:os';
import {resolve} from 'node:path';
import {UsageError} from '../errors.js';
import {checkLabel} from '../volume/label.js';
import {checkVolumeSize, parseSize} from '../volume/size.js';
import {checkTarget} from '../volume/target.js';
import {validateMinerSeed} from '../vm/fields.js';
import {readSeedFile} from '../vm/launcher.js';
import {forceSmall} from './set.js';

export type Validation = {ok: true} | {ok: false; message: string; fix?: string};

const OK: Validation = {ok: true};

function wrap(fn: () => void): Validation {
  try {
    fn();
    return OK;
  } catch (error) {
    if (error instanceof UsageError) return {ok: false, message: error.message, fix: error.fix};
    return {ok: false, message: (error as Error).message};
  }
}

export const validateSize = (value: string): Validation => wrap(() => checkVolumeSize(parseSize(value), value, false, 'wizard'));

export const validateGrowSize = (value: string): Validation => wrap(() => void parseSize(value.startsWith('+') ? value.slice(1) : value));

export const validateLabel = (value: string): Validation => wrap(() => void checkLabel(value));

/** A path for the volume: a new file (created) or an existing one (checked and reused). */
export const validateVolumePath = (value: string): Validation =>
  wrap(() => {
    if (existsSync(value) && lstatSync(value).isFile()) return;
    checkTarget(value);
  });

/** An existing volume file. */
export const validateExistingVolume = (value: string): Validation =>
  wrap(() => {
    if (!value.trim()) throw new UsageError('give the path of the volume file');
    const path = resolvePath(value);
    if (!existsSync(path)) throw new UsageError(`${path} does not exist`, 'check the path');
    const st = lstatSync(path);
    if (st.isSymbolicLink()) throw new UsageError(`${path} is a symbolic link`, 'give the real path');
    if (!st.isFile()) throw new UsageError(`${path} is not a regular file`, 'give the path of the volume file');
  });

/** A field check of src/vm/fields.ts (value or message) as a form's Validation. */
export const fromField = (r: {ok: true} | {ok: false; message: string; fix?: string}): Validation => (r.ok ? OK : {ok: false, message: r.message, fix: r.fix});

/** `~` and `~/…` are the home directory, as in a shell. */
export function expandHome(value: string): string {
  const v = value.trim();
  return v === '~' || v.startsWith('~/') ? homedir() + v.slice(1) : v;
}

/** A path as typed, made absolute the way the wizard will use it (`~` expanded, relative to here). */
export function resolvePath(value: string): string {
  return resolve(expandHome(value));
}

/** The path the wizard will use, shown under a path field when it differs from what was typed. */
export function resolvedHint(fallback?: string) {
  return (value: string): string | undefined => {
    const v = value.trim();
    return v && resolvePath(v) !== v ? `that is ${resolvePath(v)}` : fallback;
  };
}

/** Where the set goes: a directory, or a name that does not exist yet (it is created when the set is prepared). */
export const validateSetDir = (value: string): Validation =>
  wrap(() => {
    if (!value.trim()) return; // empty: the layout (setDir)
    const v = expandHome(value);
    if (/[\x00-\x1f\x7f]/.test(v)) throw new UsageError('the directory is empty or has control characters', 'give the directory the volumes go in, e.g. /var/lib/tdx');
    const path = resolve(v);
    if (existsSync(path) && !statSync(path).isDirectory()) throw new UsageError(`${path} is not a directory`, 'give the directory the volumes go in');
  });

/** A data volume's size; under 100G only for tests (TDX_WIZARD_FORCE_SMALL=1). */
export const validateSetSize = (value: string): Validation => wrap(() => checkVolumeSize(parseSize(value), value, forceSmall(), 'wizard'));

/** The file that holds the miner seed: it exists and holds 64 hex characters (never shown). */
export const validateSeedFile = (value: string): Validation =>
  wrap(() => {
    const v = expandHome(value);
    if (!v) throw new UsageError('give the path of the file that holds the miner seed', 'a file with the 64 hex characters, mode 0600');
    const r = validateMinerSeed(readSeedFile(v).seed);
    if (!r.ok) throw new UsageError(r.message.replace('the miner seed', 'the seed in that file'), r.fix);
  });
