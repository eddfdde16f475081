// The serial log pane: follows /tmp/tdx-guest-td.log (waiting for it to appear), highlights known
// lines and shows the boot's hint above. The feed reads every new line for the hints; the pane
// reads what it shows from the file itself (any line of it, on demand). A VM restart (QEMU
// truncates or replaces the log) or a new boot banner in the log starts the hints afresh, and the
// row above the pane says so; the status row below never names a hint, so the two cannot disagree.
import {useCallback, useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {serialLog} from '../src/paths.js';
import {actionFor, matchHint} from '../src/vm/hints.js';
import {LogFeed} from '../src/vm/log-feed.js';
import {LogView} from '../src/vm/log-view.js';
import {frameBudget} from './frameBudget.js';
import {hintAction} from './hintScreen.js';
import {useKeymap} from './keymap.js';
import {LogPane, type LogPaneMemory} from './LogPane.js';
import type {Screen, ScreenProps} from './screens.js';
import {fit, severityGlyph, severityTone, tone} from './theme.js';

// Under a flood of lines the pane redraws at most 15 times a second (see frameBudget): the newest
// line on screen is then 20-40 ms old at the median (BENCHMARKS.md, row 10). A frame costs about a
// third of what it did at 5 a second (components/fastOutput.ts), so the CPU stays below less +F's.
const FRAMES_PER_SECOND = 15;

/**
 * `afterLaunch`: opened by a launch, the pane is watched until the guest has found its volumes (a
 * success marker) or powered off; the banner then says so and where Esc leads (the VM: status, stop).
 */
export function LogScreen({controller, go, size, setEditing, quit, back, path: given, afterLaunch = false, shell = false}: ScreenProps & {back: Screen; path?: string; afterLaunch?: boolean; shell?: boolean}) {
  const path = given ?? serialLog();
  // The log, its hints and the pane's position outlive this screen under the help overlay: the
  // controller holds them until the operator leaves the log. The feed `logs --follow` started while
  // Ink loaded goes into the first frame.
  const {view, pane} = controller.hold(`log\0${path}`, () => {
    const held = {view: new LogView(path, controller.takeLogFeed(path) ?? new LogFeed(path)), pane: {} as LogPaneMemory, close: () => held.view.close()};
    return held;
  });
  const [version, setVersion] = useState(0);
  const [state, setState] = useState(view.status);

  useEffect(() => {
    // Lines arrive in bursts of thousands: one redraw per burst, within the frame budget.
    const budget = frameBudget(() => setVersion((v) => v + 1), FRAMES_PER_SECOND);
    const unwatch = view.watch((change) => (change === 'lines' ? budget.request() : setState(view.status)));
    return () => {
      unwatch();
      budget.cancel();
    };
  }, [view]);

  const tracker = view.tracker;
  const markers = tracker.state;
  const cause = markers.cause;
  const volume = controller.settingsLoaded ? controller.settings.get('volumePath') : undefined;
  // A hint that names a wizard screen opens it on x, the volume filled in (not while a search is typed).
  const fix = cause ? hintAction(cause.hint, controller.settingsLoaded ? controller.settings.store : undefined) : undefined;
  const [typing, setTyping] = useState(false);
  const editing = useCallback((on: boolean) => {
    setTyping(on);
    setEditing(on);
  }, [setEditing]);
  // The pane's prompt is read at the key (a "/x" typed at once: the x is the search's, before any re-render).
  useKeymap('hint', (action) => (action === 'fix' && fix && !pane.current?.prompt ? go(fix.screen) : undefined), Boolean(fix) && !typing);
  const told = cause
    ? `${severityGlyph(cause.hint.severity)} ${cause.hint.title}${fix ? ` — x: ${fix.label}` : cause.hint.action ? ` — ${actionFor(cause.hint, {volume})}` : ''}`
    : markers.poweredOff
      ? 'The VM powered off.'
      : state;
  const settled = markers.poweredOff || cause?.hint.severity === 'ok';
  const banner = afterLaunch && settled ? `${told} · Esc: the VM (status, stop)` : told;
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Text {...tone(cause ? severityTone(cause.hint.severity) : 'muted')}>{fit(banner, size.width)}</Text>
      <LogPane
        source={view.source}
        memory={pane}
        version={version}
        arrived={view.counts.lines}
        generation={view.counts.generation}
        width={size.width}
        height={size.height - 1}
        title={path}
        hintFor={(line) => {
          const m = matchHint(line);
          return m ? {severity: m.hint.severity, title: m.hint.title} : undefined;
        }}
        onBack={() => (shell ? quit() : go(back))}
        onEditingChange={editing}
      />
    </Box>
  );
}
