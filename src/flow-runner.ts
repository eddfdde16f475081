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
  try {
    for (const step of flow.steps) {
      const skipReason = step.skip?.(ctx);
      if (skipReason) {
        updateStep(env.store, step.id, {status: 'skipped', detail: skipReason});
        continue;
      }
      if (env.signal?.aborted) throw new Cancelled(`${flow.title}: cancelled before "${step.title}"`);
      updateStep(env.store, step.id, {status: 'running', startedAt: Date.now()});
      done.push(step);
      try {
        await step.run(ctx, env);
        const evidence = env.runner.dryRun ? 'planned' : ((await step.verify?.(ctx, env)) ?? undefined);
        updateStep(env.store, step.id, {status: 'done', endedAt: Date.now(), detail: evidence || undefined, changedDisk: step.changesDisk});
      } catch (error) {
        updateStep(env.store, step.id, {status: 'failed', endedAt: Date.now(), detail: (error as Error).message});
        throw error;
      }
    }
  } catch (error) {
    await undoAll();
    throw error;
  } finally {
    unregister();
  }
}
