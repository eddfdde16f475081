// The interactive wizard's entry: loaded only when a terminal is attached and no subcommand given.
import type {OptionValues} from 'commander';

export async function startWizard(options: OptionValues): Promise<number> {
  const {runWizard} = await (await import('./load-ui.js')).loadUi();
  return runWizard({color: options.color !== false});
}
