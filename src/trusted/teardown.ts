// Teardown of trusted storage: exactly what the record names, in the reverse of create's order,
// each part only if it is there, so that a record whose later parts never happened (create killed
// half-way) and a teardown killed half-way and run again both end with nothing left. The loop
// devices are found by their backing file as well as by the record, since create may be killed
// between attaching one and recording it. The record goes last.
import {existsSync, lstatSync, readFileSync, statSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {UsageError} from '../errors.js';
import {list} from '../inventory/find.js';
import type {Runner} from '../runner/runner.js';
import {recordTmp, unitName, type TrustedRecord} from './flow.js';

/** The record, or a refusal that says what is wrong with it. */
export function readRecord(recordPath: string): TrustedRecord {
  try {
    const rec = JSON.parse(readFileSync(recordPath, 'utf8')) as TrustedRecord;
    if (typeof rec.file !== 'string' || typeof rec.unit !== 'string' || typeof rec.manifests !== 'string') throw new Error('it lacks the file, the unit or the manifests');
    return rec;
  } catch (error) {
    throw new UsageError(`the record ${recordPath} cannot be read: ${(error as Error).message}`, 'tdx-wizard wrote it whole or not at all: look at it (was it edited?), and remove what it names by hand');
  }
}

/** Every loop device whose backing file is `file` (the kernel's own word, /sys/block/loopN/loop/backing_file). */
export function loopsOf(file: string): string[] {
  const devices: string[] = [];
  for (const name of list('/sys/block').filter((n) => n.startsWith('loop'))) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
    } catch {
      continue; // not attached
    }
    if (backing === file || backing === `${file} (deleted)`) devices.push(`/dev/${name}`);
  }
  return devices;
}

/** The create that wrote the record, if it still runs. */
export function stillCreating(rec: TrustedRecord): boolean {
  if (!rec.pid || rec.pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').includes('trusted-storage');
  } catch {
    return false;
  }
}

/** Removes what the record names, each part only if it is there; returns what was removed. */
export async function removeRecorded(runner: Runner, rec: TrustedRecord, recordPath: string, kubectl: boolean): Promise<string[]> {
  const removed: string[] = [];
  const name = rec.name;
  const root = rec.systemdRoot ? ['--root', rec.systemdRoot] : [];
  const gone = async (path: string) => {
    if (lstatSync(path, {throwIfNoEntry: false})) removed.push(path);
    await runner.act(`Remove ${path}`, ['rm', '-f', '--', path], () => rm(path, {force: true}));
  };
  // A manifests file that is missing or empty was never applied (create applies only after writing it whole).
  if (kubectl && existsSync(rec.manifests) && statSync(rec.manifests).size > 0) await runner.run({cmd: 'kubectl', args: ['delete', '--ignore-not-found', '-f', rec.manifests], title: `kubectl delete -f ${rec.manifests}`});
  if (existsSync(rec.unit)) await runner.run({cmd: 'systemctl', args: [...root, 'disable', unitName(name)], title: `systemctl disable ${unitName(name)}`, check: false});
  // The link that enables it, if disable could not remove it (the unit file half-written when create was killed).
  await gone(join(dirname(rec.unit), 'multi-user.target.wants', unitName(name)));
  await gone(rec.unit);
  for (const device of loopsOf(rec.file)) {
    await runner.run({cmd: 'losetup', args: ['-d', device], title: `losetup -d ${device}`});
    removed.push(device);
  }
  for (const path of [rec.file, rec.manifests, recordTmp(recordPath), recordPath]) await gone(path);
  return removed;
}
