// The wizard: one screen at a time inside a Frame. Screens render the store and call the
// controller; none of them spawns a process. Ctrl+C while a step runs asks first, a second press
// cancels the step (its cleanup detaches devices and removes half-made files).
import {useEffect, useRef, useState} from 'react';
import {useApp} from 'ink';
import type {WizardController} from '../src/wizard/controller.js';
import {addMessage, type Message} from '../src/store.js';
import {unstoppableWork} from '../src/cleanup.js';
import {Frame} from './Frame.js';
import {KeyHelp} from './KeyHelp.js';
import {FROM_BURST} from './keyBurst.js';
import {useKeymap, useLiveScopes, type Scope} from './keymap.js';
import {StepList} from './StepList.js';
import {useStoreState} from './useStoreState.js';
import {useTerminalSize} from './useTerminalSize.js';
import {ScreenView, screenInfo, type Screen} from './screens.js';

export interface AppProps {
  controller: WizardController;
  /** Called with the exit code when the operator leaves. */
  onExit: (code: number) => void;
  initial?: Screen;
}

const QUIT_TEXT = 'Quit? What you typed in the forms is not kept. Press q again to quit, any other key to stay.';

/** Screens whose typed values live only in the screen: quitting from them asks first. */
const UNSAVED_SCREENS: ReadonlySet<Screen['name']> = new Set(['set', 'launch']);

export function App({controller, onExit, initial = {name: 'menu'}}: AppProps) {
  const {exit} = useApp();
  const {columns, rows} = useTerminalSize();
  const [screen, setScreen] = useState<Screen>(initial);
  // The scopes of the screen as it was when `?` opened the overlay: the overlay lists those keys.
  const [help, setHelp] = useState<Scope[] | undefined>(undefined);
  const [editing, setEditing] = useState(false);
  const armed = useRef(false);
  const quitArmed = useRef(false);
  // The "Press q again" question, shown only while it stands.
  const [quitPrompt, setQuitPrompt] = useState<Message | undefined>(undefined);
  // A message belongs to the screen that raised it: the last message when the operator left for
  // another screen, and everything before it, is not shown there.
  const [shownAfter, setShownAfter] = useState<Message | undefined>(undefined);
  // "Press Ctrl+C again" stops being true when the step it is about has ended.
  const armedPrompt = useRef<Message | undefined>(undefined);
  const messages = useStoreState(controller.store, (s) => s.messages);
  const steps = useStoreState(controller.store, (s) => s.steps);
  const info = screenInfo(screen);
  const fresh = shownAfter ? messages.slice(messages.indexOf(shownAfter) + 1) : messages;
  const visible = fresh.filter((m) => (controller.busy || m !== armedPrompt.current) && (m.text !== QUIT_TEXT || m === quitPrompt));
  // The keys live on the screen as it is now (a confirmation that replaced a menu has its own).
  const live = useLiveScopes().filter((s) => s !== 'global' && s !== 'help');
  // q and ? are letters: they work only while no text field takes typed letters.
  const letters = !editing && !live.includes('input');

  // Every screen but the log reads the remembered settings: `logs --follow` starts without them
  // (lighter and faster), and they load on the way out of the log.
  const go = (next: Screen) => {
    setShownAfter(controller.store.getState().messages.at(-1));
    controller.release(); // what the screen held (the log pane's feed and position) goes with it
    if (next.name === 'log' || controller.settingsLoaded) return setScreen(next);
    controller.loadSettings().then(
      () => setScreen(next),
      (error: Error) => addMessage(controller.store, {level: 'error', text: `cannot read the settings: ${error.message}`}),
    );
  };

  const leave = (code: number) => {
    onExit(code);
    exit();
  };

  useEffect(() => {
    armed.current = false;
  }, [screen]);

  const globalScopes: Scope[] = ['global'];
  useKeymap(
    globalScopes,
    (action, input, key) => {
      if (action === 'interrupt' || (key.ctrl && input === 'c')) {
        if (!controller.busy) return leave(130);
        if (!armed.current) {
          armed.current = true;
          armedPrompt.current = {level: 'warn', text: 'Press Ctrl+C again to cancel the running step (its cleanup will run)'};
          addMessage(controller.store, armedPrompt.current);
          return;
        }
        // resize2fs and e2fsck are never signalled: the controller says what runs and that the cancel follows it.
        if (!unstoppableWork().length) addMessage(controller.store, {level: 'warn', text: 'Cancelling: stopping the command and undoing what it started...'});
        controller.cancel();
        return;
      }
      if (!letters || help) return;
      const wasArmed = quitArmed.current;
      quitArmed.current = false;
      if (wasArmed) setQuitPrompt(undefined);
      if (FROM_BURST.has(key)) return; // a pasted text never quits nor opens the help
      if (action === 'quit' && !controller.busy) {
        // Typed values would be lost: ask first (the second q quits, any other key stays).
        if (!wasArmed && (controller.hasDrafts() || UNSAVED_SCREENS.has(screen.name))) {
          quitArmed.current = true;
          const prompt: Message = {level: 'warn', text: QUIT_TEXT};
          setQuitPrompt(prompt);
          addMessage(controller.store, prompt);
          return;
        }
        leave(0);
      } else if (input === '?') setHelp(live);
    },
    true,
  );

  // The help bar shows only keys that work now: q and ? not while a text field takes letters, q not
  // while a step runs (Ctrl+C cancels it then).
  const scopes: Scope[] = help ? ['help'] : letters ? [...live, 'global'] : live;
  const hidden = controller.busy ? (['quit'] as const) : [];
  return (
    <Frame
      title={`tdx-wizard · ${info.title}`}
      columns={columns}
      rows={rows}
      scopes={scopes}
      hidden={hidden}
      messages={visible}
      side={info.steps && steps.length ? (size) => <StepList steps={steps} width={size.width} height={size.height} compact={false} /> : undefined}
      compactSide={info.steps && steps.length ? (width) => <StepList steps={steps} width={width} compact /> : undefined}
    >
      {(size) =>
        help ? (
          <KeyHelp scopes={[...help, 'global']} width={size.width} height={size.height} onClose={() => setHelp(undefined)} />
        ) : (
          <ScreenView screen={screen} go={go} controller={controller} size={size} setEditing={setEditing} quit={() => leave(0)} />
        )
      }
    </Frame>
  );
}
