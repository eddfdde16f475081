// E3a/E3b/E4/E5: `python3 ./run-td`, as quick-launch.sh runs it, from run-td's own directory (E3/E4
// find ../../firmware/TDVF.fd from the current directory). run-td takes no credentials: they are
// in the config volume. Its volume flags come from the era's volume specs. It exits 0 even when
// QEMU fails, so a launch counts only when the pid file names a live QEMU `process=chutes-td`.
import {basename, dirname} from 'node:path';
import type {Era} from '../../era/eras.js';
import {checkSet} from '../../volume/set.js';
import {checkConfigLaunchFields} from '../config-fields.js';
import type {LaunchFields} from '../fields.js';
import {confirmStarted} from './confirm.js';
import {launchChecks, refusals} from './preflight.js';
import {probeVm, stopAndConfirm} from './probe.js';
import {volumesOf, type Invocation, type LauncherAdapter, type VolumeCheck} from './types.js';

/** The data volumes' and config volume's flags, from the era's specs (config first, as quick-launch.sh). */
export function volumeArgs(fields: LaunchFields, era: Era): {config: string[]; data: string[]} {
  const paths = volumesOf(fields);
  const config: string[] = [];
  const data: string[] = [];
  for (const spec of era.volumes) {
    const path = paths[spec.role];
    if (path) (spec.role === 'config' ? config : data).push(spec.flag, path);
  }
  return {config, data};
}

export function networkArgs(fields: LaunchFields): string[] {
  return ['--network-type', fields.networkType, ...(fields.networkType === 'tap' && fields.netIface ? ['--net-iface', fields.netIface] : [])];
}

export async function checkEraSet(fields: LaunchFields, era: Era): Promise<VolumeCheck> {
  const paths = new Map(Object.entries(volumesOf(fields)) as Array<[Era['volumes'][number]['role'], string]>);
  const set = await checkSet(era, paths);
  return {problems: set.problems};
}

/** Shared by the launchers that read a config volume and name their QEMU. */
export function configVolumeLauncher(kind: 'run-td' | 'run-vm', processName: string | undefined, invoke: (launcher: string, args: string[]) => Invocation, launchArgs: (fields: LaunchFields, era: Era) => string[]): LauncherAdapter {
  const adapter: LauncherAdapter = {
    kind,
    options: kind === 'run-td' ? ['image', 'networkType', 'netIface', 'sshPort'] : ['image', 'networkType', 'netIface', 'sshPort', 'vcpus', 'mem'],
    networkTypes: ['tap', 'user'],
    unusedReason: `${kind} takes no credentials or network addresses: the guest reads its hostname, miner keys and IP from the config volume${kind === 'run-td' ? ', and run-td fixes 32 vCPUs and 100G (RTMR determinism)' : ''}`,
    checkFields(input, sysRoot) {
      return checkConfigLaunchFields(input, adapter.options, sysRoot);
    },
    buildInvocation: (launcher, fields, era) => ({...invoke(launcher, launchArgs(fields, era)), title: 'Launch the TDX VM'}),
    preflight: async (launcher, fields, era, ctx) => refusals(await launchChecks(launcher, fields, era, ctx)),
    checkVolumes: (fields, era) => checkEraSet(fields, era),
    confirmLaunch: (result, launcher, serialLines) => confirmStarted(probeVm(processName), result, launcher, serialLines),
    status: () => probeVm(processName),
    stopInvocation: (launcher) => ({...invoke(launcher, ['--clean']), title: `Stop the TDX VM (${basename(launcher)} --clean)`}),
    stop: (runner, launcher, signal) => stopAndConfirm(runner, adapter.stopInvocation(launcher), () => probeVm(processName), signal),
  };
  return adapter;
}

export const runTd = configVolumeLauncher(
  'run-td',
  'chutes-td',
  (launcher, args) => ({cmd: 'python3', args: [`./${basename(launcher)}`, ...args], cwd: dirname(launcher), secrets: [], title: ''}),
  (fields, era) => {
    const {config, data} = volumeArgs(fields, era);
    // quick-launch.sh's own order: python3 ./run-td --pass-gpus --image I --config-volume C --network-type T [--net-iface vmtap0] --cache-volume X --storage-volume S
    return ['--pass-gpus', '--image', fields.image ?? '', ...config, ...networkArgs(fields), ...data, ...(fields.sshPort ? ['--ssh-port', String(fields.sshPort)] : []), ...fields.extra];
  },
);
