// Where the launcher is looked for when none is given or remembered: the current directory first,
// then, for an era whose launcher is an installed program (E6's chutes-cvm), PATH.
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import {defaultLauncherPath, onPath} from '../src/vm/launcher-file.js';

const root = mkdtempSync(join(tmpdir(), 'tdxw-lpath-'));
afterAll(() => rmSync(root, {recursive: true, force: true}));

const program = (dir: string, name: string, mode = 0o755) => {
  mkdirSync(dir, {recursive: true});
  writeFileSync(join(dir, name), '#!/bin/sh\n');
  chmodSync(join(dir, name), mode);
  return join(dir, name);
};

describe('the launcher of an era with none given', () => {
  const e6 = findEra('E6')!;
  const e4 = findEra('E4')!;
  const empty = join(root, 'empty');
  mkdirSync(empty);
  const bin = join(root, 'bin');
  const cvm = program(bin, 'chutes-cvm');
  program(join(root, 'noexec'), 'chutes-cvm', 0o644);
  mkdirSync(join(root, 'dir/chutes-cvm'), {recursive: true});

  it('the installed chutes-cvm for E6; the document\'s ./run-tdx.sh for an era whose launcher is a checkout\'s file', () => {
    const old = process.env.PATH;
    process.env.PATH = `${join(root, 'noexec')}:${join(root, 'dir')}:${bin}:${old}`;
    try {
      expect(defaultLauncherPath(empty, e6)).toBe(cvm); // not the file that cannot run, nor the directory
      expect(defaultLauncherPath(empty, e4)).toBe(join(empty, 'run-tdx.sh'));
      expect(defaultLauncherPath(empty)).toBe(join(empty, 'run-tdx.sh'));
    } finally {
      process.env.PATH = old;
    }
  });

  it('a launcher in the current directory comes first', () => {
    const here = join(root, 'here');
    const runTd = program(join(here, 'host-tools/scripts'), 'run-td');
    expect(defaultLauncherPath(here, e6)).toBe(runTd);
  });

  it('PATH with empty and relative entries; nothing found', () => {
    expect(onPath('chutes-cvm', `::${bin}`)).toBe(cvm);
    expect(onPath('chutes-cvm', '')).toBeUndefined();
    expect(onPath('chutes-cvm', join(root, 'noexec'))).toBeUndefined();
  });
});
