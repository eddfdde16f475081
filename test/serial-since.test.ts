// The first serial lines of this launch only: a log QEMU did not touch still holds the previous boot.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {serialLinesSince, stampSerial} from '../src/vm/serial-since.js';

let dir: string;
afterEach(() => rmSync(dir, {recursive: true, force: true}));

describe('serialLinesSince', () => {
  it('nothing from a log left as it was (the previous boot); its lines once QEMU has truncated and written it', () => {
    dir = mkdtempSync(join(tmpdir(), 'tdxw-serial-'));
    const log = join(dir, 'tdx-guest-td.log');
    writeFileSync(log, 'old boot\nreboot: Power down\n');
    const stamp = stampSerial(log);
    expect(serialLinesSince(stamp)).toEqual([]);
    writeFileSync(log, 'SeaBIOS (version x)\nBdsDxe: loading Boot0001\npartial');
    expect(serialLinesSince(stamp)).toEqual(['SeaBIOS (version x)', 'BdsDxe: loading Boot0001']);
  });

  it('a log made by this launch is read; no log is nothing', () => {
    dir = mkdtempSync(join(tmpdir(), 'tdxw-serial-'));
    const log = join(dir, 'tdx-guest-td.log');
    const stamp = stampSerial(log);
    expect(serialLinesSince(stamp)).toEqual([]);
    writeFileSync(log, 'first line\n');
    expect(serialLinesSince(stamp, 5)).toEqual(['first line']);
  });
});
