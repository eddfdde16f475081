// tdx-wizard volumes adopt: existing volumes moved into the layout the way a careful converter does
// it. A rename on the same filesystem only (never a copy of terabytes); a volume on another
// filesystem is recorded in place, not moved. Never while in use. The move is written into the
// destination folder's manifest before the rename and taken out after it, so a run killed at any
// point leaves each volume where it was or where it was going (rename is atomic), and the next run
// finishes or forgets the move by looking at which of the two names exists. Reversible: the
// manifest keeps where each volume came from, and `--undo` puts it back.
import {existsSync, lstatSync, renameSync, statSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import type {EraId, Role} from '../era/eras.js';
import {eraFromOption} from '../era/remembered.js';
import {UsageError} from '../errors.js';
import type {Runner} from '../runner/runner.js';
import {inspectVolume} from '../volume/inspect.js';
import {roleOf} from '../volume/set.js';
import {IMAGE_NAME, layoutRoot, layoutVmFolders} from './find.js';
import {vmOf} from './inventory.js';
import {layoutFolders, makeFolder, type LayoutKind} from './layout.js';
import {readManifest, recordVolume, syncDir, writeManifest, type Manifest} from './manifest.js';

/** The role (from the name, else the label) and era a volume is recorded with. */
type Kind = {role?: Role; era: EraId};

export type AdoptStep =
  | {kind: 'move'; from: string; to: string; vm: string; layout: LayoutKind; why: string; what: Kind}
  | {kind: 'in-place'; path: string; folder: string; vm: string; why: string; what: Kind}
  | {kind: 'already'; path: string; vm: string; what: Kind};

export interface AdoptOptions {
  vm?: string;
  /** Where volumes that are neither the config volume nor encrypted go (default clear). */
  to?: LayoutKind;
}

/** What adopt will do with each path; refuses (UsageError, all problems at once) before anything moves. */
export async function planAdopt(paths: readonly string[], options: AdoptOptions): Promise<AdoptStep[]> {
  const era = eraFromOption(undefined);
  const problems: string[] = [];
  const steps: AdoptStep[] = [];
  const root = layoutRoot();
  for (const path of paths) {
    const st = lstatSync(path, {throwIfNoEntry: false});
    if (!st) {
      problems.push(`${path} does not exist`);
      continue;
    }
    if (!st.isFile() || !IMAGE_NAME.test(path)) {
      problems.push(`${path} is not a volume file (.qcow2, .raw or .img)`);
      continue;
    }
    const vm = options.vm ?? vmOf(path).vm;
    if (!vm) {
      problems.push(`${path}: which VM it belongs to is not in its name (upstream names it <role>-<hostname>.<ext>); say it with --vm NAME`);
      continue;
    }
    const inspection = await inspectVolume(path, {era, spec: roleOf(era, path) ?? era.volumes[0]!});
    if (inspection.inUse) {
      problems.push(`${path} is in use (${inspection.inUseDetail}): a volume is never moved under a running VM`);
      continue;
    }
    const role = roleOf(era, path, inspection.label)?.role;
    const what: Kind = {...(role ? {role} : {}), era: era.id};
    const layout: LayoutKind = role === 'config' || inspection.filesystem === 'crypto_LUKS' ? 'vault' : (options.to ?? 'clear');
    const folder = layout === 'vault' ? layoutFolders(vm, 'vault', root).config : layoutFolders(vm, layout, root).data;
    const owner = readManifest(folder)?.vm;
    if (owner && owner !== vm) {
      problems.push(`${folder} belongs to the VM ${owner}, not ${vm}`);
      continue;
    }
    if (dirname(path) === folder) {
      steps.push({kind: 'already', path, vm, what});
      continue;
    }
    const to = join(folder, basename(path));
    if (existsSync(to)) {
      problems.push(`${to} exists already: ${path} would take its name`);
      continue;
    }
    const why = role === 'config' ? 'the config volume holds the seed' : inspection.filesystem === 'crypto_LUKS' ? 'encrypted by a production guest' : layout === 'vault' ? 'as asked (--to vault)' : 'read in clear by a debug guest';
    if (deviceOf(folder) !== st.dev) steps.push({kind: 'in-place', path, folder, vm, what, why: `${why}; on another filesystem than ${root}, so recorded where it is (a move would copy it)`});
    else steps.push({kind: 'move', from: path, to, vm, layout, why, what});
  }
  const tos = steps.flatMap((s) => (s.kind === 'move' ? [s.to] : []));
  const twice = tos.filter((t, i) => tos.indexOf(t) !== i);
  if (twice.length) problems.push(`two volumes would both go to ${twice[0]}`);
  if (problems.length) throw new UsageError(problems.join('; '), 'nothing was moved; fix these (or leave those volumes out) and run it again');
  return steps;
}

/** The device of a folder, or of the nearest folder above it that exists (where it would be made). */
function deviceOf(dir: string): number {
  for (let d = dir; ; d = dirname(d)) {
    const st = statSync(d, {throwIfNoEntry: false});
    if (st) return st.dev;
    if (d === dirname(d)) return -1;
  }
}

export function describeStep(step: AdoptStep): string {
  switch (step.kind) {
    case 'move':
      return `move     ${step.from} -> ${step.to} (${step.why})`;
    case 'in-place':
      return `record   ${step.path} in ${step.folder}/manifest.json, where it is (${step.why})`;
    case 'already':
      return `keep     ${step.path} (already in the layout of ${step.vm})`;
  }
}

/** Carries out the plan, one volume at a time, each move written down before it happens. */
export async function adopt(runner: Runner, steps: readonly AdoptStep[]): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'already') {
      const folder = dirname(step.path);
      if (!readManifest(folder)?.volumes.some((v) => v.name === basename(step.path))) {
        await runner.act(`Record ${step.path} in ${folder}/manifest.json`, ['true'], () => recordVolume(folder, step.vm, step.path, {event: 'adopted', ...step.what}));
      }
      continue;
    }
    const folder = step.kind === 'move' ? dirname(step.to) : step.folder;
    await makeFolder(runner, folder);
    if (step.kind === 'in-place') {
      await runner.act(`Record ${step.path} in ${folder}/manifest.json`, ['true'], () => recordVolume(folder, step.vm, step.path, {event: 'adopted', ...step.what}));
      continue;
    }
    await runner.act(`Move ${basename(step.from)} into ${folder}`, ['mv', '-n', '--', step.from, step.to], () => {
      const manifest: Manifest = readManifest(folder) ?? {vm: step.vm, volumes: []};
      writeManifest(folder, {...manifest, moving: [...(manifest.moving ?? []), {from: step.from, to: step.to, since: new Date().toISOString()}]});
      if (existsSync(step.to)) throw new UsageError(`${step.to} appeared meanwhile`, 'nothing was moved; look at it');
      renameSync(step.from, step.to);
      syncDir(folder);
      syncDir(dirname(step.from));
      finishMove(folder, step.from, step.to, step.what);
    });
  }
}

/** For a move a killed run left: its plan is gone, so the role comes from the name. */
function roleAndEra(path: string): Kind {
  const era = eraFromOption(undefined);
  const role = roleOf(era, path)?.role;
  return {...(role ? {role} : {}), era: era.id};
}

/** The move is done: out of `moving`, into `volumes` (with where it came from). */
function finishMove(folder: string, from: string, to: string, what: Kind): void {
  // Recorded first, then the move struck out: stopped between the two, the next run does both again (no generation is bumped).
  recordVolume(folder, readManifest(folder)!.vm, to, {event: 'adopted', adoptedFrom: from, ...what});
  const manifest = readManifest(folder)!;
  writeManifest(folder, {...manifest, moving: (manifest.moving ?? []).filter((m) => m.to !== to)});
}

/**
 * Moves a killed run left half-recorded, in every folder of the layout: finished when the volume is
 * at its new name, forgotten when it is still at its old one. Both names at once cannot come from a
 * rename: said, and both left alone.
 */
export function resumeMoves(warn: (text: string) => void): void {
  for (const folder of layoutVmFolders()) {
    let manifest: Manifest | undefined;
    try {
      manifest = readManifest(folder);
    } catch (error) {
      warn((error as Error).message);
      continue;
    }
    // An undo stopped after its move back: the volume is at its old name, the entry still here.
    for (const v of manifest?.volumes ?? []) {
      const path = v.name.startsWith('/') ? v.name : join(folder, v.name);
      if (v.adoptedFrom && !existsSync(path) && existsSync(v.adoptedFrom)) {
        const now = readManifest(folder)!;
        writeManifest(folder, {...now, volumes: now.volumes.filter((x) => x.name !== v.name)});
        warn(`an earlier adopt --undo was stopped after moving ${path} back to ${v.adoptedFrom}: forgotten here now`);
      }
    }
    for (const m of manifest?.moving ?? []) {
      const atFrom = existsSync(m.from);
      const atTo = existsSync(m.to);
      if (atTo && !atFrom) {
        finishMove(folder, m.from, m.to, roleAndEra(m.to));
        warn(`an earlier adopt was stopped after moving ${m.from} to ${m.to}: recorded now`);
      } else if (atFrom && !atTo) {
        const now = readManifest(folder)!;
        writeManifest(folder, {...now, moving: (now.moving ?? []).filter((x) => x.to !== m.to)});
        warn(`an earlier adopt was stopped before moving ${m.from}: it is still there, and is moved now if asked again`);
      } else {
        warn(`an earlier adopt left ${m.from} -> ${m.to} unfinished, and ${atFrom ? 'both names exist' : 'neither name exists'}: left as it is; look at both`);
      }
    }
  }
}

/** --undo: each adopted volume back where it came from (or, recorded in place, out of the manifest). */
export async function planUndo(paths: readonly string[]): Promise<Array<{path: string; back?: string; folder: string}>> {
  const problems: string[] = [];
  const out: Array<{path: string; back?: string; folder: string}> = [];
  for (const path of paths) {
    const folder = dirname(path);
    const manifest = readManifest(folder);
    const entry = manifest?.volumes.find((v) => join(folder, v.name) === path || v.name === path);
    const inPlace = !entry && findInPlace(path);
    if (inPlace) {
      out.push({path, folder: inPlace});
      continue;
    }
    if (!entry?.adoptedFrom) {
      problems.push(`${path} was not adopted (no manifest entry with where it came from)`);
      continue;
    }
    if (existsSync(entry.adoptedFrom)) {
      problems.push(`${entry.adoptedFrom} exists again: ${path} cannot go back to that name`);
      continue;
    }
    const inspection = await inspectVolume(path);
    if (inspection.inUse) {
      problems.push(`${path} is in use (${inspection.inUseDetail})`);
      continue;
    }
    out.push({path, back: entry.adoptedFrom, folder});
  }
  if (problems.length) throw new UsageError(problems.join('; '), 'nothing was moved back; fix these and run it again');
  return out;
}

function findInPlace(path: string): string | undefined {
  return layoutVmFolders().find((folder) => readManifest(folder)?.volumes.some((v) => v.name === path));
}

export async function undo(runner: Runner, steps: ReadonlyArray<{path: string; back?: string; folder: string}>): Promise<void> {
  for (const step of steps) {
    const forget = () => {
      const manifest = readManifest(step.folder)!;
      writeManifest(step.folder, {...manifest, volumes: manifest.volumes.filter((v) => v.name !== step.path && join(step.folder, v.name) !== step.path)});
    };
    if (!step.back) {
      await runner.act(`Forget ${step.path} in ${step.folder}/manifest.json`, ['true'], forget);
      continue;
    }
    const back = step.back;
    await runner.act(`Move ${basename(step.path)} back to ${dirname(back)}`, ['mv', '-n', '--', step.path, back], () => {
      renameSync(step.path, back);
      syncDir(dirname(back));
      syncDir(step.folder);
      forget();
    });
  }
}
