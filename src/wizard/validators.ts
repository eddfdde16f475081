// Field validators for the wizard's forms: the same checks the CLI makes, as values instead of
// exceptions, so a field can say what is wrong while the operator types.
import {existsSync, lstatSync} from 'node:fs';
import {resolve} from 'node:path';
import {UsageError} from '../errors.js';
import {checkLabel} from '../volume/label.js';
import {checkVolumeSize, parseSize} from '../volume/size.js';
import {checkTarget} from '../volume/target.js';

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
    if (!value) throw new UsageError('give the path of the volume file');
    const path = resolve(value);
    if (!existsSync(path)) throw new UsageError(`${path} does not exist`, 'check the path');
    const st = lstatSync(path);
    if (st.isSymbolicLink()) throw new UsageError(`${path} is a symbolic link`, 'give the real path');
    if (!st.isFile()) throw new UsageError(`${path} is not a regular file`, 'give the path of the volume file');
  });
