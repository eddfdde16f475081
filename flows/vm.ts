// Launch and stop the VM through the upstream launcher (its era's adapter), as flows the wizard and CLI share.
import type {Era} from '../src/era/eras.js';
import type {Flow} from '../src/flow-runner.js';
import type {LaunchFields} from '../src/vm/fields.js';
import {adapterFor} from '../src/vm/adapters/index.js';
import {launchVm, stopVm} from '../src/vm/launcher.js';
import {verifyVolume} from '../src/volume/verify.js';

export interface LaunchJob {
  launcher: string;
  /** The launcher's era; run-tdx.sh's (E1) when not given. */
  era?: Era;
  fields: LaunchFields;
  pid?: number;
  reason?: string;
}

export function launchFlow(job: LaunchJob): Flow<LaunchJob> {
  return {
    id: 'launch',
    title: 'Launch the VM',
    steps: [
      {
        id: 'launch',
        title: 'Check the volume, then run the launcher',
        changesDisk: true,
        async run(j, env) {
          const {pid, verdict} = await launchVm(env.runner, {launcher: j.launcher, fields: j.fields, ...(j.era ? {era: j.era} : {}), verify: verifyVolume, signal: env.signal});
          j.pid = pid;
          j.reason = verdict?.reason;
          // Loaded here: the settings store (conf, ajv) is not needed to follow a log.
          const {rememberLauncher} = await import('../src/vm/launcher-path.js');
          rememberLauncher(j.launcher, (text) => env.warn(text));
        },
        async verify(j) {
          return j.pid ? `running as pid ${j.pid}` : 'the pid file did not appear';
        },
      },
    ],
  };
}

export function stopFlow(launcher: string, era?: Era): Flow<{launcher: string}> {
  return {
    id: 'stop',
    title: 'Stop the VM',
    // The step says what runs: `Stop the TDX VM (run-td --clean)` for run-td.
    steps: [{id: 'stop', title: era ? adapterFor(era).stopInvocation(launcher).title : 'Stop QEMU (launcher --clean)', changesDisk: true, run: async (j, env) => void (await stopVm(env.runner, j.launcher, env.signal, era))}],
  };
}
