// Does the real guest accept this volume? Runs upstream's own guest-side scripts and mount units
// (test/fixtures/vendor/upstream) against volumes attached read-only, in a sandbox (guest-sandbox.ts).
//
//   const r = await guestAccepts('E4', 'cache', '/tmp/x/cache.qcow2', 'qcow2');
//   expect(r.ok).toBe(true);                  // or: expect(r.lines).toContain('… upstream line …')
//
// For a missing volume, or several volumes at once, attach them yourself and call guestRun.
import {rmSync} from 'node:fs';
import {dirname} from 'node:path';
import {findEra, launcherFormat, volumeSpec, type EraId, type Role} from '../../src/era/eras.js';
import {attachAll, detachAll, type AttachedDevice} from './guest-attach.js';
import {guestPlan, lookupScript} from './guest-eras.js';
import {runGuestSteps, type GuestRun} from './guest-sandbox.js';
import {requireGuestPython} from './guest-tools.js';

export {attachReadOnly, attachAll, detachAll, type AttachedDevice} from './guest-attach.js';
export {runGuestScript, runGuestSteps, type GuestRun, type GuestStep} from './guest-sandbox.js';
export {guestPlan, upstreamFile, ERA_DIR} from './guest-eras.js';

export interface GuestResult extends GuestRun {
  note?: string;
}

/** What process-config.py leaves behind, read back after it ran. */
export const CONFIG_OUTPUTS = [
  '/etc/hostname',
  '/var/lib/rancher/k3s/credentials/miner-ss58',
  '/var/lib/rancher/k3s/credentials/miner-seed',
  '/etc/system-manager/miner.env',
  '/etc/netplan/50-config-volume.yaml',
];

/** Runs the era's guest steps for `role` with these devices attached (none: the volume is missing). */
export async function guestRun(era: EraId, role: Role, devices: string[], options: {debug?: boolean} = {}): Promise<GuestResult> {
  const plan = guestPlan(era, role, options.debug ?? true);
  if (role === 'config') requireGuestPython();
  const run = await runGuestSteps(plan.steps, {devices, collect: role === 'config' ? CONFIG_OUTPUTS : []});
  return {...run, note: plan.note};
}

/**
 * Attaches the image the way the era's launcher hands it to QEMU (`format`; by default what the
 * launcher makes of the file name), runs the era's guest steps for `role`, detaches.
 * A qcow2-only launcher given a raw file: QEMU would refuse to start; so does the attach here,
 * and the result is not ok, with qemu's own line.
 */
export async function guestAccepts(era: EraId, role: Role, imagePath: string, format?: 'qcow2' | 'raw', options: {debug?: boolean} = {}): Promise<GuestResult> {
  const spec = volumeSpec(findEra(era)!, role);
  if (!spec) throw new Error(`era ${era} has no ${role} volume`);
  const fmt = format ?? launcherFormat(spec, imagePath);
  let devices: AttachedDevice[];
  try {
    devices = await attachAll([{path: imagePath, format: fmt}]);
  } catch (error) {
    return {ok: false, steps: [], lines: [String((error as Error).message)], calls: [], files: {}};
  }
  try {
    return await guestRun(era, role, devices.map((d) => d.device), options);
  } finally {
    await detachAll(devices);
  }
}

export interface LookupResult extends GuestRun {
  /** The devices setup_storage's lookup chose ('' when not found). */
  storage: string;
  cache: string;
}

/** A production initramfs's device lookup (setup_storage of E4, E5, E6) over these devices. */
export async function productionLookup(era: EraId, devices: string[]): Promise<LookupResult> {
  const script = lookupScript(era);
  try {
    const run = await runGuestSteps([{kind: 'script', path: script}], {devices});
    // Both functions end with this line when they found a device (by filesystem label or by the LUKS fallback).
    const found = (what: string) => run.lines.map((l) => new RegExp(`^Success: Found ${what} device: (\\S+)$`).exec(l)?.[1]).find(Boolean) ?? '';
    return {...run, storage: found('storage'), cache: found('cache')};
  } finally {
    rmSync(dirname(script), {recursive: true, force: true});
  }
}
