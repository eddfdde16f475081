// The serial log pane: follows /tmp/tdx-guest-td.log (waiting for it to appear), highlights known
// lines and shows the boot's hint above. The feed reads every new line for the hints; the pane
// reads what it shows from the file itself (any line of it, on demand). A VM restart (QEMU
// truncates or replaces the log) or a new boot banner in the log starts the hints afresh, and the
// row above the pane says so; the status row below never names a hint, so the two cannot disagree.
import {useEffect, useMemo, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {serialLog} from '../src/paths.js';
import {actionFor, MarkerTracker, matchHint} from '../src/vm/hints.js';
import {LogFeed, type LogEvent} from '../src/vm/log-feed.js';
import {FileSource} from '../src/vm/log-source.js';
import {frameBudget} from './frameBudget.js';
import {LogPane} from './LogPane.js';
import type {Screen, ScreenProps} from './screens.js';
import {fit, severityGlyph, severityTone, tone} from './theme.js';

// Under a flood of lines the pane redraws at most 5 times a second (see frameBudget).
const FRAMES_PER_SECOND = 5;

/**
 * `afterLaunch`: opened by a launch, the pane is watched until the guest has found its volumes (a
 * success marker) or powered off; the banner then says so and where Esc leads (the VM: status, stop).
 */
export function LogScreen({controller, go, size, setEditing, quit, back, path: given, afterLaunch = false, shell = false}: ScreenProps & {back: Screen; path?: string; afterLaunch?: boolean; shell?: boolean}) {
  const path = given ?? serialLog();
  const source = useMemo(() => new FileSource(path), [path]);
  useEffect(() => () => source.close(), [source]);
  // Lines read so far (the paused pane's badge) and restarts seen (the pane then follows the new log).
  const counts = useRef({lines: 0, generation: 0});
  const tracker = useMemo(() => new MarkerTracker(), []);
  const [version, setVersion] = useState(0);
  // The feed `logs --follow` started while Ink loaded, or a new one. What it has read so far goes
  // into the first frame; what comes later, into the effect below.
  const [feed] = useState(() => controller.takeLogFeed(path) ?? new LogFeed(path));
  const [state, setState] = useState(() => {
    let status = 'waiting for the log to appear...';
    feed.drain((event) => void (status = applyEvent(event, path, counts.current, tracker) ?? status));
    return status;
  });

  useEffect(() => {
    // Lines arrive in bursts of thousands: one redraw per burst, within the frame budget.
    const budget = frameBudget(() => setVersion((v) => v + 1), FRAMES_PER_SECOND);
    feed.take((event) => {
      const status = applyEvent(event, path, counts.current, tracker);
      if (status === undefined) budget.request();
      else setState(status);
    });
    void feed.start();
    return () => {
      budget.cancel();
      void feed.stop();
    };
  }, [feed, path, tracker]);

  const markers = tracker.state;
  const cause = markers.cause;
  const volume = controller.settingsLoaded ? controller.settings.get('volumePath') : undefined;
  const told = cause
    ? `${severityGlyph(cause.hint.severity)} ${cause.hint.title}${cause.hint.action ? ` — ${actionFor(cause.hint, {volume})}` : ''}`
    : markers.poweredOff
      ? 'The VM powered off.'
      : state;
  const settled = markers.poweredOff || cause?.hint.severity === 'ok';
  const banner = afterLaunch && settled ? `${told} · Esc: the VM (status, stop)` : told;
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Text {...tone(cause ? severityTone(cause.hint.severity) : 'muted')}>{fit(banner, size.width)}</Text>
      <LogPane
        source={source}
        version={version}
        arrived={counts.current.lines}
        generation={counts.current.generation}
        width={size.width}
        height={size.height - 1}
        title={path}
        hintFor={(line) => {
          const m = matchHint(line);
          return m ? {severity: m.hint.severity, title: m.hint.title} : undefined;
        }}
        onBack={() => (shell ? quit() : go(back))}
        onEditingChange={setEditing}
      />
    </Box>
  );
}

/** A Linux kernel's first line: a new boot, whose hints start afresh. */
const BOOT_BANNER = /\bLinux version \d/;

/** A line or a restart counts and goes into the marker tracker; any other event gives the new status line. */
function applyEvent(event: LogEvent, path: string, counts: {lines: number; generation: number}, tracker: MarkerTracker): string | undefined {
  switch (event.type) {
    case 'line':
      counts.lines++;
      if (BOOT_BANNER.test(event.line.text)) tracker.reset();
      tracker.push(event.line.raw);
      return undefined;
    case 'restarted':
      counts.generation++;
      tracker.reset();
      return `VM restarted (the log was ${event.reason}): following the new boot`;
    case 'waiting':
      return `waiting for ${path} to appear...`;
    case 'opened':
      return `following ${path}`;
    case 'unreadable':
      return `cannot read ${path}: ${event.why} (run as root?)`;
  }
}
