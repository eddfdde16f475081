// Prepare every volume an era's guest reads, in one run: the parts that create a missing volume
// (each the whole create flow, or the config volume's), side by side since the host is idle most
// of each part's time, then a check of the set as the guest will see it. Volumes that already pass
// are left alone; a run with nothing to create changes nothing.
import type {Flow, FlowStep} from '../src/flow-runner.js';
import {StepError} from '../src/errors.js';
import type {Role} from '../src/era/eras.js';
import type {Plan} from '../src/prepare/plan.js';
import {checkSet} from '../src/volume/set.js';
import {part} from './compose.js';

/** One part of the set: its own job and the flow that makes it. */
export interface PreparePart<J = unknown> {
  role: Role;
  job: J;
  flow: Flow<J>;
}

export interface PrepareJob {
  plan: Plan;
  parts: PreparePart[];
}

const checkTheSet: FlowStep<PrepareJob> = {
  id: 'set',
  title: 'Check the set as the guest will see it',
  async run() {},
  async verify(job) {
    const paths = new Map(job.plan.actions.map((a) => [a.spec.role, a.path] as const));
    const check = await checkSet(job.plan.era, paths);
    if (!check.ok) throw new StepError(`the set is not right: ${check.problems.map((p) => p.text).join('; ')}`, 'set', [], check.problems.find((p) => p.fix)?.fix);
    return `the ${job.plan.era.id} guest finds ${check.members.map((m) => `"${m.spec.label}"`).join(', ')}, each once`;
  },
};

export function prepareFlow(job: PrepareJob): Flow<PrepareJob> {
  const steps = job.parts.flatMap((p, i) => part<PrepareJob, unknown>(p.role, p.flow as Flow<unknown>, (outer) => outer.parts[i]!.job, {lane: true}));
  return {id: 'prepare', title: `Prepare the ${job.plan.era.id} volume set in ${job.plan.dir}`, steps: [...steps, checkTheSet]};
}
