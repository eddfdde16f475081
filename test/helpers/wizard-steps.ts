// Steps of the wizard's forms that several pseudo-terminal tests go through the same way.
import type {PtyRun} from './pty.js';

export const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Waits for the field to be focused, replaces what it holds with `text` (when given), then Enter. */
export async function field(run: PtyRun, label: string, text?: string): Promise<void> {
  await run.waitFor(new RegExp(`❯ ${label}`));
  if (text !== undefined) {
    await run.press('\u0015'); // Ctrl+U
    await run.type(text);
    await run.waitFor(new RegExp(`❯ ${label}\\s+${escapeRe(text)}\\s`));
  }
  await run.press('Enter');
}

/** On the set table: "Change the sizes" to volumes made in seconds (TDX_WIZARD_FORCE_SMALL=1), back on the table. */
export async function smallSizes(run: PtyRun, hostname: string, cache = '100M', storage = '64M'): Promise<void> {
  await run.waitFor(/❯ Prepare the set: create cache, storage, config/);
  await run.press('Down');
  await run.waitFor(/❯ Change the sizes/);
  await run.press('Enter');
  await field(run, 'cache size', cache);
  await field(run, 'storage size', storage);
  await run.waitFor(new RegExp(`cache\\s+cache-${escapeRe(hostname)}\\.qcow2\\s+${cache}`));
}

/** From the main menu to the label screen. */
export async function toRelabel(run: PtyRun): Promise<void> {
  await run.waitFor('First-time setup');
  await run.press('Down');
  await run.waitFor(/❯ Troubleshoot NBD/);
  await run.press('Down');
  await run.waitFor(/❯ Repair a volume label/);
  await run.press('Enter');
}

/** From the main menu to the label screen, with the volume's path typed and read. */
export async function openRelabel(run: PtyRun, volume: string): Promise<void> {
  await toRelabel(run);
  await run.waitFor(/❯ Volume file/);
  await run.type(volume, {echo: true});
  await run.press('Enter');
}
