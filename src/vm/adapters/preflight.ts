// Host facts a config-volume launcher needs before it is run, each a refusal with its fix: the
// failed checks of src/host/era-checks.ts (the same functions `tdx-wizard check` shows): the firmware
// it loads, python3 with the modules its files import, the boot image's name against its format
// where the launcher picks the format from the name, the TAP interface it is given.
import type {Era} from '../../era/eras.js';
import type {Check} from '../../host/check-types.js';
import {bootImageCheck, firmwareCheck, pythonCheck, tapCheck, type EraCheckOptions} from '../../host/era-checks.js';
import type {LaunchFields} from '../fields.js';

export type Refusal = {text: string; fix: string};

/** The checks a launch needs, from the era's data (the TDX module is `tdx-wizard check`'s: reading the kernel log needs root). */
export async function launchChecks(launcher: string, fields: LaunchFields, era: Era, options: EraCheckOptions): Promise<Check[]> {
  const {host} = era;
  const checks: Array<Check | undefined> = [
    host.python ? await pythonCheck(era, launcher, options) : undefined,
    host.firmware ? await firmwareCheck(era, host.firmware, launcher, options.env) : undefined,
    bootImageCheck(era, fields.image),
    host.tap && fields.networkType === 'tap' && fields.netIface ? await tapCheck(era, launcher, options.roots, {iface: fields.netIface, required: true}) : undefined,
  ];
  return checks.filter((c): c is Check => c !== undefined);
}

/** What stops a launch: the failed checks, each with its fix. */
export function refusals(checks: Check[]): Refusal[] {
  return checks.filter((c) => c.status === 'fail').map((c) => ({text: c.summary, fix: c.fix ?? ''}));
}
