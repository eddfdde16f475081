// What `tdx-wizard prepare` and the wizard's set screen share once the plan is made: the checks
// before anything is touched (names free, leftovers of killed runs removed, room on the disk),
// then one part per volume to create and the set's flow run through the flow runner.
import {existsSync, statSync} from 'node:fs';
import {createFlow, reclaimCreateLeftovers, type CreateJob} from '../../flows/create.js';
import {prepareFlow, type PrepareJob, type PreparePart} from '../../flows/prepare.js';
import {reclaimFuseLeftovers} from '../attach/index.js';
import {UsageError} from '../errors.js';
import {runFlow, type StepEnv} from '../flow-runner.js';
import type {ConfigValues} from '../config-volume/values.js';
import {checkSpace} from '../volume/space.js';
import {checkTarget} from '../volume/target.js';
import {configChanges, configPart} from './config-part.js';
import type {Action, Plan} from './plan.js';

export type CreateAction = Extract<Action, {kind: 'create'}>;
/** What a run writes: new volumes, and a config volume rewritten with new values. */
export type WriteAction = Extract<Action, {kind: 'create' | 'refresh'}>;

export function creating(plan: Plan): WriteAction[] {
  return plan.actions.filter((a): a is WriteAction => a.kind === 'create' || a.kind === 'refresh');
}

const created = (plan: Plan) => plan.actions.filter((a): a is CreateAction => a.kind === 'create');

/** An existing config volume whose files differ from what `values` would write becomes a refresh. */
export async function compareConfig(plan: Plan, values: ConfigValues): Promise<void> {
  const i = plan.actions.findIndex((a) => a.spec.role === 'config' && a.kind === 'reuse');
  const action = plan.actions[i];
  if (!action || action.kind !== 'reuse') return;
  const changed = await configChanges(action.path, values);
  if (changed.length) plan.actions[i] = {...action, kind: 'refresh', changed};
}

/** `fixWord` names the way to have it created ("pass --create-dir", "…"). */
export function checkSetDir(dir: string, create: boolean, fixWord = 'pass --create-dir'): void {
  if (!existsSync(dir)) {
    if (create) return;
    throw new UsageError(`${dir} does not exist`, `create it first, or ${fixWord}`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, 'give the directory the volumes go in');
}

/**
 * Before anything changes: every new name is free, what killed runs left is removed (and said),
 * and the disk has room for what the new volumes can grow to (a warning when it has not all).
 */
export async function checkBeforePrepare(env: StepEnv, plan: Plan): Promise<void> {
  const todo = created(plan);
  for (const a of todo) checkTarget(a.path, a.format);
  for (const note of await reclaimFuseLeftovers(env.runner)) env.warn(note);
  for (const a of todo) for (const note of await reclaimCreateLeftovers(env.runner, a.path)) env.warn(note);
  const total = todo.reduce((sum, a) => sum + a.sizeBytes, 0);
  const space = await checkSpace(plan.dir, total, 'offline');
  if (space.error) throw new UsageError(space.error.message, space.error.fix);
  for (const w of space.warnings) env.warn(w.replace('the volume can grow', 'the new volumes can grow'));
}

function dataPart(a: CreateAction, createParent: boolean): PreparePart<CreateJob> {
  const job: CreateJob = {target: checkTarget(a.path, a.format), sizeBytes: a.sizeBytes, label: a.spec.label, method: 'offline', createParent, format: a.format, fs: a.fs};
  return {role: a.spec.role, job, flow: createFlow(job)};
}

/** Runs the set's flow: a part per volume to create (`config` holds the config volume's checked values), then the set check. */
export async function runPrepare(env: StepEnv, plan: Plan, config: ConfigValues | undefined, createDir: boolean): Promise<PrepareJob> {
  const parts: PreparePart[] = [];
  for (const a of creating(plan)) {
    if (a.kind === 'create' && a.spec.role !== 'config') parts.push(dataPart(a, createDir));
    else if (config) parts.push(await configPart(env, a, config, createDir));
    else throw new UsageError(`the ${plan.era.id} set needs a config volume and its values were not given`, 'give the miner SS58 address, the seed file and the network values');
  }
  const job: PrepareJob = {plan, parts};
  await runFlow(prepareFlow(job), job, env);
  return job;
}

/** The set check's evidence, after a run: "the E4 guest finds …". */
export function setEvidence(env: StepEnv): string {
  return env.store.getState().steps.find((s) => s.id === 'set')?.detail ?? '';
}
