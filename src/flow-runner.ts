// Runs a flow (flows/*.ts): steps in order, each with an optional precondition, its work, a
// verification and an undo. Step states go to the store, so the wizard's step list and the CLI
// show the same thing. When a step fails, or the process is stopped, the undos of the steps that
// already ran are run in reverse order (a half-made volume is removed, a device is detached).
import {registerCleanup} from './cleanup.js';
import {Cancelled} from './errors.js';
import type {Runner} from './runner/runner.js';
import {setSteps, updateStep, type AppStore} from './store.js';

export interface StepEnv {
  runner: Runner;
  store: AppStore;
  signal?: AbortSignal;
  /** A warning the operator should see (also shown in --json as an event). */
  warn(text: string, fix?: string): void;
  info(text: string): void;
}

export interface FlowStep<C> {
  id: string;
  title: string;
  /** True when the step changes a disk or file: going back in the wizard cannot undo it. */
  changesDisk?: boolean;
  /**
   * Consecutive steps with lanes run lane beside lane (each lane's steps in order), as the parts
   * of prepare do: one volume's mkfs while another's convert runs. A step without a lane waits for
   * every lane before it. A dry run keeps them in order, so its plan reads as one script.
   */
  lane?: string;
  /** A reason to skip the step, or undefined to run it. */
  skip?(ctx: C): string | undefined;
  run(ctx: C, env: StepEnv): Promise<void>;
  /** Checks the result and returns the evidence, shown beside the step. */
  verify?(ctx: C, env: StepEnv): Promise<string | void>;
  /** Undoes what `run` did; runs when a later step fails or the process is stopped. */
  undo?(ctx: C, env: StepEnv): Promise<void>;
}

export interface Flow<C> {
  id: string;
  title: string;
  steps: FlowStep<C>[];
}

export async function runFlow<C>(flow: Flow<C>, ctx: C, env: StepEnv): Promise<void> {
  setSteps(
    env.store,
    flow.title,
    flow.steps.map((s) => ({id: s.id, title: s.title, status: 'pending' as const})),
  );
  const done: FlowStep<C>[] = [];
  // One undo, whoever asks first (the failing step or a signal's cleanup): both wait for it.
  let undoing: Promise<void> | undefined;
  const undoAll = () =>
    (undoing ??= (async () => {
      for (const step of done.reverse()) {
        if (!step.undo) continue;
        try {
          await step.undo(ctx, env);
        } catch (error) {
          env.warn(`could not undo "${step.title}": ${(error as Error).message}`);
        }
      }
    })());
  const unregister = registerCleanup(`undo ${flow.title}`, undoAll);
  // Once a step failed, the other lanes start no further step; the undo waits for what runs.
  let failed = false;
  const runStep = async (step: FlowStep<C>) => {
    const skipReason = step.skip?.(ctx);
    if (skipReason) {
      updateStep(env.store, step.id, {status: 'skipped', detail: skipReason});
      return;
    }
    if (env.signal?.aborted) throw new Cancelled(`${flow.title}: cancelled before "${step.title}"`);
    if (failed) return;
    updateStep(env.store, step.id, {status: 'running', startedAt: Date.now()});
    done.push(step);
    try {
      await step.run(ctx, env);
      const evidence = env.runner.dryRun ? 'planned' : ((await step.verify?.(ctx, env)) ?? undefined);
      updateStep(env.store, step.id, {status: 'done', endedAt: Date.now(), detail: evidence || undefined, changedDisk: step.changesDisk});
    } catch (error) {
      failed = true;
      updateStep(env.store, step.id, {status: 'failed', endedAt: Date.now(), detail: (error as Error).message});
      throw error;
    }
  };
  try {
    for (const segment of segments(flow.steps, env.runner.dryRun)) {
      if (segment.length === 1) {
        await runStep(segment[0]!);
        continue;
      }
      const lanes = new Map<string, FlowStep<C>[]>();
      for (const step of segment) lanes.set(step.lane!, [...(lanes.get(step.lane!) ?? []), step]);
      const results = await Promise.allSettled(
        [...lanes.values()].map(async (steps) => {
          for (const step of steps) await runStep(step);
        }),
      );
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
    }
  } catch (error) {
    await undoAll();
    throw error;
  } finally {
    unregister();
  }
}

/** The steps in the order they run: a run of laned steps together (in a dry run, one by one), every other step alone. */
function segments<C>(steps: FlowStep<C>[], oneByOne: boolean): FlowStep<C>[][] {
  const out: FlowStep<C>[][] = [];
  for (const step of steps) {
    const last = out[out.length - 1];
    if (!oneByOne && step.lane && last?.[0]?.lane) last.push(step);
    else out.push([step]);
  }
  return out;
}
