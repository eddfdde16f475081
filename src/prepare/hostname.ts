// The hostname rule for names of files and folders (the set's files, a VM's folder), apart from
// prepare's run so that create --vm checks it without loading prepare (its config volume,
// launcher and hints: about 150 KB of code at create's start).
import {UsageError} from '../errors.js';
import {validateHostname} from '../vm/fields.js';

/** The hostname names files before it names a VM: the quick-launch schema's rule, checked first. `flag` leads the fix ("--hostname "). */
export function checkHostnameForNames(hostname: string, flag = ''): void {
  const rule = validateHostname(hostname); // the launch form's and config volume's rule: one place
  if (rule.ok && rule.value === hostname) return;
  if (hostname.length > 63) throw new UsageError(`the hostname is ${hostname.length} characters; the guest accepts at most 63`, 'choose a shorter hostname');
  throw new UsageError(
    `"${hostname}" is not a hostname the guest accepts: lower-case letters, digits and "-", not at either end`,
    // Lower case is offered only where it is all that is wrong (Miner_1 would still be refused).
    validateHostname(hostname.toLowerCase()).ok ? `use ${flag}${hostname.toLowerCase()}` : 'choose a hostname such as miner-01',
  );
}
