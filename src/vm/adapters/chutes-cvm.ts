// E6: `chutes-cvm guest launch` (rayonlabs/sek8s 3a1a37cd, upstream-eras.md §2.5). Only the command
// is built for now: chutes-cvm refreshes the config volume at every launch (its Step 4 runs
// `sudo HOSTNAME=… MINER_SEED=… create-config.sh`), so it needs the seed on its own command line
// and hands it to sudo in the environment, both visible in ps. The wizard refuses to run it until
// it can do that step itself and pass a ready config volume.
import {UsageError} from '../../errors.js';
import {shellLine} from '../../runner/mask.js';
import {checkConfigLaunchFields} from '../config-fields.js';
import {volumeArgs} from './run-td.js';
import {probeVm, stopAndConfirm} from './probe.js';
import type {LauncherAdapter} from './types.js';

export const chutesCvm: LauncherAdapter = {
  kind: 'chutes-cvm',
  options: ['hostname', 'minerSs58', 'image', 'networkType', 'vmIp', 'vmDns', 'sshPort'],
  networkTypes: ['tap', 'user'],
  unusedReason: 'chutes-cvm guest launch takes no such value (it makes the bridge and TAP itself, and fixes the VM size)',
  checkFields: (input, sysRoot) => checkConfigLaunchFields(input, chutesCvm.options, sysRoot),
  buildInvocation(launcher, fields, era) {
    const {config, data} = volumeArgs(fields, era);
    const opt = (flag: string, value: string | number | undefined) => (value === undefined || value === '' ? [] : [flag, String(value)]);
    return {
      cmd: launcher,
      args: [
        'guest', 'launch',
        ...opt('--hostname', fields.hostname), ...opt('--base-image', fields.image), ...opt('--miner-ss58', fields.minerSs58),
        ...opt('--vm-ip', fields.vmIp), ...opt('--vm-dns', fields.vmDns),
        ...data, ...config,
        '--network-type', fields.networkType, ...opt('--ssh-port', fields.sshPort), ...fields.extra,
      ],
      secrets: [],
      title: 'Launch the TDX VM (chutes-cvm guest launch)',
    };
  },
  preflight(launcher, fields, era) {
    const line = shellLine([launcher, ...chutesCvm.buildInvocation(launcher, fields, era).args]);
    throw new UsageError(
      'the wizard does not run chutes-cvm yet: it rebuilds the config volume at every launch and needs the miner seed on its own command line for that (visible in ps)',
      `run it yourself when you accept that: ${line} --miner-seed …`,
    );
  },
  checkVolumes: async () => ({problems: []}),
  confirmLaunch: () => probeVm('chutes-td'),
  status: () => probeVm('chutes-td'),
  stopInvocation: (launcher) => ({cmd: launcher, args: ['guest', 'stop', '--force'], secrets: [], title: 'Stop the TDX VM (chutes-cvm guest stop --force)'}),
  stop: (runner, launcher, signal) => stopAndConfirm(runner, chutesCvm.stopInvocation(launcher), () => probeVm('chutes-td'), signal),
};
