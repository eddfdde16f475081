// --role and --era for the commands that write to an existing volume (relabel, format): the label
// they write is the role's, and a volume a production guest has encrypted is refused outright.
import type {Command} from 'commander';
import {UsageError} from '../errors.js';
import {chooseRole} from '../era/choose.js';
import {ERAS} from '../era/eras.js';
import {eraFromOption} from '../era/remembered.js';
import type {Expectation} from '../volume/judge.js';
import type {Inspection} from '../volume/inspect.js';

export function roleOptions(cmd: Command): Command {
  return cmd
    .option('--role <role>', 'the role the volume plays: cache (default), storage, containerd or config')
    .option('--era <era>', 'the guest era (default: the remembered one, else E4)');
}

export function expectationFrom(opts: Record<string, unknown>): Expectation {
  const era = eraFromOption(opts.era);
  return {era, spec: chooseRole(era, opts.role ?? 'cache')};
}

/** Every label some era's guest puts on a LUKS2 header it made. */
const GUEST_LABELS = new Set(ERAS.flatMap((e) => e.volumes.filter((v) => v.production === 'guest' || v.role === 'cache').map((v) => v.label)));

/**
 * A LUKS2 volume carrying a guest's label was encrypted by a production guest at its first boot:
 * its content is the guest's, its key is the guest's, and nothing on the host may rewrite it.
 */
export function refuseProvisioned(before: Inspection, doing: string): void {
  if (before.filesystem !== 'crypto_LUKS' || !before.label || !GUEST_LABELS.has(before.label)) return;
  throw new UsageError(
    `${before.path} is LUKS2 labelled "${before.label}": a production guest encrypted it at its first boot and keeps its data there; ${doing} it from the host would destroy that or make the guest lose it`,
    'leave it as it is; for a fresh volume, create a new file (tdx-wizard create, or prepare) and give the VM that one',
  );
}
