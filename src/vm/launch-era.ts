// Which era a launch is for, and what the operator gave that the era's launcher cannot use. The
// era comes from the launcher's own files (read, never run; --era must agree with them), else from
// --era, else the one remembered. The volumes given are then checked against that era, so a
// launcher and a volume set from different eras are refused before anything runs.
import {basename} from 'node:path';
import {chooseEra} from '../era/choose.js';
import {detectEra} from '../era/detect.js';
import {ERAS, ERA_IDS, roleList, type Era, type Role} from '../era/eras.js';
import {UsageError} from '../errors.js';
import type {LauncherAdapter, OptionKey} from './adapters/index.js';

export interface LaunchEra {
  era: Era;
  /** How it was told: the launcher's signature, --era, or the remembered setting. */
  evidence: string;
}

export async function launchEra(launcher: string, option: unknown, remembered?: string): Promise<LaunchEra> {
  const found = await detectEra(launcher);
  const given = option === undefined || option === null || option === '' ? undefined : chooseEra(option);
  if (given && found && found.era.id !== given.id) {
    throw new UsageError(
      `${launcher} is a launcher of ${found.era.id} (${found.evidence}), not of ${given.id}: it would not pass the ${given.id} guest what it needs`,
      `use the launcher of ${given.id} (${given.title}; ${given.when}), or leave out --era to launch the ${found.era.id} guest`,
    );
  }
  if (given) return {era: given, evidence: found ? found.evidence : `--era ${given.id} (no known signature in ${basename(launcher)})`};
  // The launcher's own files outrank the remembered era: the volumes given are checked against it.
  if (found) return {era: found.era, evidence: found.evidence};
  const kept = remembered ? ERAS.find((e) => e.id === remembered) : undefined;
  if (kept) return {era: kept, evidence: `the era remembered from an earlier run (${kept.id}); ${basename(launcher)} carries no known signature`};
  throw new UsageError(
    `cannot tell which upstream era ${launcher} belongs to: no known signature in it or the files beside it (they are read, never run)`,
    `pass --era with one of ${ERA_IDS.join(', ')} (tdx-wizard eras lists them)`,
  );
}

const FLAG: Record<OptionKey, string> = {
  hostname: '--hostname', minerSs58: '--miner-ss58', minerSeedFile: '--miner-seed-file', minerSeed: '--miner-seed', networkType: '--network-type', netIface: '--net-iface',
  vmIp: '--vm-ip', vmGateway: '--vm-gateway', vmDns: '--vm-dns', sshPort: '--ssh-port', image: '--image', vcpus: '--vcpus', mem: '--mem',
};
export const VOLUME_OPTIONS: Record<string, Role> = {cacheVolume: 'cache', storageVolume: 'storage', containerdVolume: 'containerd', configVolume: 'config'};

/** Refuses (exit 2) an option the era's launcher has no use for, and a volume the era's guest does not read. */
export function refuseForeign(era: Era, adapter: LauncherAdapter, given: {options: OptionKey[]; volumes: Role[]}): void {
  const problems: string[] = [];
  const fixes: string[] = [];
  const unused = given.options.filter((k) => !adapter.options.includes(k));
  if (unused.length) {
    problems.push(`${unused.map((k) => FLAG[k]).join(', ')}: no use with the ${era.id} launcher: ${adapter.unusedReason}`);
    fixes.push(`leave out ${unused.map((k) => FLAG[k]).join(', ')}`);
  }
  for (const role of given.volumes) {
    if (era.volumes.some((v) => v.role === role)) continue;
    const has = ERAS.filter((e) => e.volumes.some((v) => v.role === role));
    const flag = has[0]!.volumes.find((v) => v.role === role)!.flag;
    problems.push(`${flag}: the ${era.id} guest (${era.title}) has no ${role} volume; it reads ${roleList(era)}`);
    fixes.push(`a ${role} volume belongs to ${has.map((e) => e.id).join(', ')}: use a launcher of that era (its run-td has ${flag}), or leave out ${flag}`);
  }
  refuse(era, problems, fixes);
}

/** Refuses (exit 2) a launch without a volume the era's guest needs (it would power off). */
export function refuseMissing(era: Era, volumes: Role[]): void {
  const missing = era.volumes.filter((spec) => spec.required && !volumes.includes(spec.role));
  refuse(
    era,
    missing.map((spec) => `the ${era.id} guest needs its ${spec.role} volume ("${spec.label}") and powers off without it`),
    missing.map((spec) => `pass ${spec.flag} PATH${spec.role === 'config' ? '' : ` (tdx-wizard create PATH --role ${spec.role} --era ${era.id} makes one)`}`),
  );
}

function refuse(era: Era, problems: string[], fixes: string[]): void {
  if (problems.length === 1) throw new UsageError(problems[0]!, fixes[0]);
  if (problems.length) throw new UsageError(`the launch does not fit the ${era.id} launcher:\n${problems.map((p) => `  - ${p}`).join('\n')}`, fixes.join('; '));
}
