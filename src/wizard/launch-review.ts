// What the review before a launch shows, read-only: the exact invocation the adapter will run
// (where it runs included; the seed masked), where the seed goes, what a production guest's first
// boot does to each volume, and every refusal launchVm would make (host, volumes, a running VM),
// so that "Launch" is offered only when nothing stands in the way.
import {basename} from 'node:path';
import type {Era, Role} from '../era/eras.js';
import {pidFile} from '../paths.js';
import {maskText, shellLine} from '../runner/mask.js';
import {adapterFor, volumesOf} from '../vm/adapters/index.js';
import type {LaunchFields} from '../vm/fields.js';
import {readPidFile} from '../vm/pid.js';
import {untrustedPidFile, volumePaths} from '../vm/launcher.js';
import {refuseOtherOwners} from '../inventory/manifest.js';
import type {UsageError} from '../errors.js';
import {inspectVolume} from '../volume/inspect.js';
import {verifyVolume} from '../volume/verify.js';
import {hostRoots} from '../host/roots.js';
import type {Runner} from '../runner/runner.js';

export interface LaunchReview {
  /** `cd DIR && python3 ./run-td …`, the seed masked. */
  command: string;
  /** The adapter's note when the upstream path exposes the seed anyway; said once. */
  exposure?: string;
  /** Where the seed is when nothing exposes it. */
  seedNote?: string;
  volumes: Array<{role: Role; path: string; note: string}>;
  problems: Array<{text: string; fix?: string}>;
}

export async function reviewLaunch(launcher: string, era: Era, fields: LaunchFields, sysRoot: string, runner: Runner): Promise<LaunchReview> {
  const adapter = adapterFor(era);
  const inv = adapter.buildInvocation(launcher, fields, era);
  const secrets = [...inv.secrets, ...(fields.minerSeed ? [fields.minerSeed] : [])];
  // A value given in the environment (chutes-cvm's seed) is shown by name, masked like the rest.
  const line = shellLine([...Object.entries(inv.env ?? {}).map(([k, v]) => `${k}=${v}`), inv.cmd, ...inv.args]);
  const command = maskText(inv.cwd ? `cd ${shellLine([inv.cwd])} && ${line}` : line, secrets);
  const paths = volumesOf(fields);
  const config = paths.config;
  const seedNote = !adapter.exposure && config ? `The seed is on no command line: the guest reads it from the config volume ${basename(config)}, which is passed read-only.` : undefined;

  const volumes: LaunchReview['volumes'] = [];
  for (const spec of era.volumes) {
    const path = paths[spec.role];
    if (!path) continue;
    const inspection = await inspectVolume(path, {era, spec});
    // A file that cannot be read says why (never "used as it is": what a guest would do is unknown).
    const note = inspection.production ?? (inspection.verdict === 'unreadable' ? inspection.reason : spec.role === 'config' ? (adapter.configVolume ?? 'read, never written: the guest takes its hostname, miner keys and network from it') : 'used as it is (a production guest does not encrypt it)');
    volumes.push({role: spec.role, path, note});
  }

  const problems: LaunchReview['problems'] = [];
  const running = readPidFile();
  try {
    refuseOtherOwners(volumePaths(fields), fields.hostname);
  } catch (error) {
    problems.push({text: (error as UsageError).message, fix: (error as UsageError).fix ?? ''});
  }
  if (running.state === 'untrusted') problems.push({text: untrustedPidFile(running).message, fix: untrustedPidFile(running).fix ?? ''});
  if (running.state === 'running') problems.push({text: `a VM is already running (pid ${running.pid}, pid file ${pidFile()}): every launcher stops it first`, fix: 'stop it from "Launch / status / stop the VM", then launch'});
  problems.push(...(await adapter.preflight(launcher, fields, era, {runner, roots: hostRoots({sys: sysRoot})})));
  problems.push(...(await adapter.checkVolumes(fields, era, {verify: verifyVolume, sysRoot})).problems);
  return {command, ...(adapter.exposure ? {exposure: adapter.exposure} : {}), ...(seedNote ? {seedNote} : {}), volumes, problems};
}
