// E1: run-tdx.sh (upstream launch.sh, November 2025). Credentials on its own command line (it
// writes a cloud-init ISO), one cache volume checked as the guest will, QEMU unnamed.
import {QEMU_REFUSES} from '../../volume/verdict.js';
import {launcherArgs} from '../launcher-args.js';
import {checkLaunchFields, type LaunchFields} from '../fields.js';
import {confirmStarted} from './confirm.js';
import {probeVm, stopAndConfirm} from './probe.js';
import type {LauncherAdapter} from './types.js';

export const SEED_EXPOSURE_NOTE =
  'The upstream launcher exposes the miner seed: it puts it on its own command line, which every user of this host can see in ps while it runs, ' +
  'and writes it in clear to /tmp/generated-user-data.yaml and /tmp/tdx-cidata.iso until QEMU has started (tdx-wizard stop removes them too). ' +
  'The wizard itself never shows, logs or stores the seed.';

export const runTdx: LauncherAdapter = {
  kind: 'run-tdx',
  options: ['hostname', 'minerSs58', 'minerSeedFile', 'minerSeed', 'networkType', 'netIface', 'vmIp', 'vmGateway', 'vmDns', 'sshPort', 'image', 'vcpus', 'mem'],
  networkTypes: ['tap', 'macvtap', 'user'],
  unusedReason: 'run-tdx.sh has no such flag',
  exposure: SEED_EXPOSURE_NOTE,
  checkFields: (input, sysRoot) => checkLaunchFields(input, sysRoot),
  buildInvocation: (launcher: string, fields: LaunchFields) => ({
    cmd: launcher,
    args: launcherArgs(fields),
    secrets: fields.minerSeed ? [fields.minerSeed] : [],
    title: 'Launch the TDX VM',
  }),
  preflight: async () => [],
  async checkVolumes(fields, _era, ctx) {
    const verdict = await ctx.verify(fields.cacheVolume);
    if (verdict.accepted) return {verdict, problems: []};
    const text = QEMU_REFUSES.includes(verdict.verdict) ? `QEMU would not start the VM with ${fields.cacheVolume}: ${verdict.reason}` : `the guest would reject ${fields.cacheVolume} and power itself off: ${verdict.reason}`;
    return {verdict, problems: [{text, fix: verdict.fix ?? `tdx-wizard inspect ${fields.cacheVolume}`}]};
  },
  // Any live pid counts (QEMU unnamed); a guest that has already powered itself off is reported by `logs`.
  confirmLaunch: (result, launcher, serialLines) => confirmStarted(probeVm(), result, launcher, serialLines, {stoppedIsLaunched: true}),
  // The stand-in and the real launch.sh start QEMU without -name: any live pid counts.
  status: () => probeVm(),
  stopInvocation: (launcher) => ({cmd: launcher, args: ['--clean'], secrets: [], title: 'Stop the TDX VM (launcher --clean)'}),
  stop: (runner, launcher, signal) => stopAndConfirm(runner, runTdx.stopInvocation(launcher), () => probeVm(), signal),
};
