// The wizard's layout of volumes: <root>/clear/<vm>/ for the volumes a debug guest reads in clear,
// <root>/vault/<vm>/ for the volumes a production guest encrypts and for the config volume, which
// holds the miner seed. One folder per VM, 0700, each with its manifest (manifest.ts). The root is
// /var/lib/tdx-wizard unless TDX_WIZARD_LAYOUT_ROOT says otherwise.
import {mkdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import type {Plan} from '../prepare/plan.js';
import type {Runner} from '../runner/runner.js';
import {layoutRoot} from './find.js';
import {recordVolume} from './manifest.js';

export type LayoutKind = 'clear' | 'vault';

/** The folder for a VM's data volumes, and for its config volume (always in the vault). */
export function layoutFolders(vm: string, kind: LayoutKind, root = layoutRoot()): {data: string; config: string} {
  return {data: join(root, kind, vm), config: join(root, 'vault', vm)};
}

/** Makes a layout folder (and the kind's folder above it) 0700, as a recorded step. */
export async function makeFolder(runner: Runner, dir: string): Promise<void> {
  await runner.act(`Make the layout folder ${dir}`, ['mkdir', '-p', '-m', '700', '--', dir], () => {
    mkdirSync(dirname(dir), {recursive: true, mode: 0o700});
    mkdirSync(dir, {recursive: true, mode: 0o700});
  });
}

/**
 * After a prepare in the layout: each volume in its folder's manifest. A volume made now is a new
 * generation (a new UUID when the manifest did not know it); one reused and already known is left
 * as it is, so a second run writes nothing.
 */
export function recordSet(plan: Plan, vm: string, warn: (text: string) => void): void {
  for (const a of plan.actions) {
    const dir = dirname(a.path);
    try {
      const event = a.kind === 'create' ? 'made' : a.kind === 'refresh' ? 'touched' : 'noted';
      recordVolume(dir, vm, a.path, {role: a.spec.role, era: plan.era.id, event});
    } catch (error) {
      warn(`the manifest of ${dir} was not written: ${(error as Error).message}`);
    }
  }
}
