// Teardown of trusted storage: exactly what the record names, in the reverse of create's order,
// each part only if it is there, so that a record whose later parts never happened (create killed
// half-way) and a teardown killed half-way and run again both end with nothing left. The loop
// devices are found by their backing file as well as by the record, since create may be killed
// between attaching one and recording it. The record goes last.
import {existsSync, lstatSync, readFileSync, statSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {openedBy} from '../attach/holders.js';
import {UsageError} from '../errors.js';
import {list} from '../inventory/find.js';
import type {Runner} from '../runner/runner.js';
import {recordTmp, unitName, type TrustedRecord} from './flow.js';
import {DNS_LABEL} from './names.js';
import {checkName} from './plan.js';

/** What a teardown of `name` in `dir` will remove: the record, or only the unfinished record of a create stopped before anything else. */
export type TeardownPlan = {name: string; recordPath: string; unfinished: true} | {name: string; recordPath: string; unfinished: false; rec: TrustedRecord};

/**
 * Everything teardown checks before the typed name (the CLI and the wizard alike): a valid name, a
 * record in `dir`, no create still running, and no process or device holder using the loop device
 * or the file. Refuses with a UsageError that says what to do.
 */
export async function planTeardown(name: string, dir: string): Promise<TeardownPlan> {
  checkName('the name', name, DNS_LABEL, 55, 'the name create was given');
  const recordPath = join(dir, `${name}.trusted.json`);
  if (!existsSync(recordPath)) {
    // create killed while writing its first record: it had made nothing else yet
    if (existsSync(recordTmp(recordPath))) return {name, recordPath, unfinished: true};
    throw new UsageError(`no record of trusted storage ${name} in ${dir} (${recordPath})`, 'give the --dir create used; teardown removes only what create recorded');
  }
  const rec = readRecord(recordPath);
  if (stillCreating(rec)) throw new UsageError(`trusted storage ${name} is still being made (create, pid ${rec.pid})`, `let it finish, or stop it (kill ${rec.pid}), then tear down`);
  const devices = loopsOf(rec.file);
  const users = [...(await Promise.all([...devices, rec.file].map((p) => openedBy(p)))).flat()].filter((h) => !/losetup/.test(h.command));
  const holders = devices.flatMap((d) => list(`/sys/block/${d.replace('/dev/', '')}/holders`));
  if (users.length || holders.length) throw new UsageError(`${devices.join(', ') || rec.file} is in use (${[...users.map((u) => `${u.command} pid ${u.pid}`), ...holders].join(', ')})`, 'stop the pod that uses it first (kubectl delete pod), then tear down');
  return {name, recordPath, unfinished: false, rec};
}

/** Carries out a plan (after the typed name): what was removed, and the sentence that says so. */
export async function runTeardown(runner: Runner, plan: TeardownPlan, kubectl: boolean): Promise<{removed: string[]; text: string}> {
  if (plan.unfinished) {
    const tmp = recordTmp(plan.recordPath);
    await runner.act(`Remove ${tmp}`, ['rm', '-f', '--', tmp], () => rm(tmp, {force: true}));
    return {removed: [tmp], text: `trusted storage ${plan.name}: create was stopped before it made anything; removed its unfinished record`};
  }
  const removed = await removeRecorded(runner, plan.rec, plan.recordPath, kubectl);
  return {removed, text: `trusted storage ${plan.name} removed: ${removed.join(', ') || 'nothing of it was left'}`};
}

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
