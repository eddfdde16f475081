// NBD actions as flows: detach a device (flush, disconnect, confirm through sysfs) and load the module.
import type {Flow} from '../src/flow-runner.js';
import {hostRoots} from '../src/host/roots.js';
import {detachDevice, loadModule} from '../src/nbd/index.js';

export function detachFlow(job: {device: string; result?: string}): Flow<typeof job> {
  return {
    id: 'nbd-detach',
    title: `Detach /dev/${job.device}`,
    steps: [
      {
        id: 'detach',
        title: 'Flush, disconnect, confirm it is free',
        changesDisk: true,
        async run(j, env) {
          const r = await detachDevice(env.runner, j.device, {roots: hostRoots(), signal: env.signal});
          j.result = r.alreadyFree ? `${j.device} was already free` : `${j.device} is free${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`;
        },
        async verify(j) {
          return j.result;
        },
      },
    ],
  };
}

export function loadFlow(job: {persist: boolean; result?: string}): Flow<typeof job> {
  return {
    id: 'nbd-load',
    title: 'Load the nbd module',
    steps: [
      {
        id: 'load',
        title: 'modprobe nbd max_part=8, wait for the devices',
        async run(j, env) {
          const r = await loadModule(env.runner, hostRoots(), {persist: j.persist, signal: env.signal});
          const base = r.loadedNow ? 'nbd module loaded' : 'nbd module was already loaded';
          j.result = [base, `nbds_max=${r.nbdsMax ?? '?'}`, ...r.notes, ...r.persisted.map((p) => `wrote ${p}`)].join('; ');
        },
        async verify(j) {
          return j.result;
        },
      },
    ],
  };
}
