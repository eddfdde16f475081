// One flow made of others: each inner step becomes a step of the outer flow, its id and title
// prefixed with the part it belongs to ("storage: Format ext4"). The step list shows every step of
// every part, and a failure undoes what all the parts did so far, in reverse, as for one flow.
// With `lane`, the parts run beside each other (src/flow-runner.ts).
import type {Flow, FlowStep} from '../src/flow-runner.js';

export function part<O, I>(prefix: string, flow: Flow<I>, pick: (outer: O) => I, options: {lane?: boolean} = {}): FlowStep<O>[] {
  return flow.steps.map((step) => ({
    id: `${prefix}:${step.id}`,
    ...(options.lane ? {lane: prefix} : {}),
    title: `${prefix}: ${step.title}`,
    ...(step.changesDisk ? {changesDisk: true} : {}),
    ...(step.skip ? {skip: (outer: O) => step.skip!(pick(outer))} : {}),
    run: (outer, env) => step.run(pick(outer), env),
    ...(step.verify ? {verify: (outer: O, env: Parameters<NonNullable<FlowStep<O>['verify']>>[1]) => step.verify!(pick(outer), env)} : {}),
    ...(step.undo ? {undo: (outer: O, env: Parameters<NonNullable<FlowStep<O>['undo']>>[1]) => step.undo!(pick(outer), env)} : {}),
  }));
}
