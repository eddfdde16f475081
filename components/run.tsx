// Starts the interactive wizard: theme from NO_COLOR / TERM=dumb / --no-color, render with
// Ctrl+C handled by the App (never Ink's default, which would leave children running), and the
// transcript path printed at exit.
import {render} from 'ink';
import {registerCleanup, runCleanups} from '../src/cleanup.js';
import type {LogFeed} from '../src/vm/log-feed.js';
import {WizardController} from '../src/wizard/controller.js';
import {App} from './App.js';
import {KeyRouter} from './KeyRouter.js';
import type {Screen} from './screens.js';
import {detectThemeMode, setThemeMode} from './theme.js';

export async function runWizard(options: {color?: boolean; initial?: Screen; logFeed?: LogFeed} = {}): Promise<number> {
  setThemeMode(detectThemeMode(process.env, process.argv));
  if (options.color === false) setThemeMode({color: false, ascii: true});
  const controller = new WizardController({logFeed: options.logFeed});
  // The menu and the log pane read no remembered settings: for them the settings (conf and ajv,
  // 20-30 ms) load after the first frame, while the operator reads it. App's go() waits for them
  // before any screen that reads them, should a key come first.
  const initial = options.initial?.name ?? 'menu';
  if (initial !== 'menu' && initial !== 'log') await controller.loadSettings();
  let code = 0;
  // Raw mode before the first frame: a key pressed as the menu appears would otherwise reach a
  // terminal still in line mode, which turns Enter into a newline that is not Enter (and echoes
  // the arrows). Ink takes raw mode over as it subscribes, and turns it off when it unmounts.
  const early = process.stdin.isTTY === true;
  if (early) process.stdin.setRawMode(true);
  let app: ReturnType<typeof render>;
  try {
    app = render(
      <KeyRouter>
        <App controller={controller} onExit={(c) => (code = c)} initial={options.initial} />
      </KeyRouter>,
      {exitOnCtrlC: false, patchConsole: false, maxFps: 30},
    );
  } catch (error) {
    if (early) process.stdin.setRawMode(false);
    throw error;
  }
  if (initial === 'menu') setTimeout(() => void controller.loadSettings().catch(() => undefined), 0); // go() says why, if they cannot load
  const unregister = registerCleanup('leave the wizard', () => app.unmount());
  await app.waitUntilExit();
  unregister();
  await runCleanups();
  controller.close();
  if (controller.transcript?.written) process.stderr.write(`transcript: ${controller.transcript.path}\n`);
  return code;
}
