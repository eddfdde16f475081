// kubectl apply of the manifests create wrote, then the claim's binding and the pod's phase, as the
// operator asked for them (create --apply, or "Make and apply" in the wizard). Only after the
// checks found the cluster answering (refuseBlocking with apply).
import type {Runner} from '../runner/runner.js';
import type {TrustedJob} from './flow.js';

export interface Applied {
  claim: string;
  pod: string;
}

export async function applyManifests(runner: Runner, job: TrustedJob): Promise<Applied> {
  await runner.run({cmd: 'kubectl', args: ['apply', '-f', job.manifestPath], title: `kubectl apply -f ${job.manifestPath}`});
  const phase = async (kind: string, name: string) =>
    (await runner.run({cmd: 'kubectl', args: ['get', kind, name, '-n', job.input.namespace, '-o', 'jsonpath={.status.phase}'], title: `kubectl get ${kind} ${name}`, capture: true, check: false})).stdout.trim() || 'unknown';
  return {claim: await phase('pvc', `${job.input.name}-pvc`), pod: await phase('pod', `${job.input.name}-example`)};
}
