// The serial log pane: follows /tmp/tdx-guest-td.log (waiting for it to appear), marks a VM
// restart when QEMU truncates it, highlights known lines and shows the latest hint above.
import {useEffect, useMemo, useState} from 'react';
import {Box, Text} from 'ink';
import {serialLog} from '../src/paths.js';
import {TextRing} from '../src/text-ring.js';
import {actionFor, MarkerTracker, matchHint} from '../src/vm/hints.js';
import {LogFeed, type LogEvent} from '../src/vm/log-feed.js';
import {frameBudget} from './frameBudget.js';
import {LogPane, type LogProvider} from './LogPane.js';
import type {Screen, ScreenProps} from './screens.js';
import {fit, severityGlyph, severityTone, tone} from './theme.js';

const KEEP = 5000;
// Under a flood of lines the pane redraws at most 5 times a second (see frameBudget).
const FRAMES_PER_SECOND = 5;

/**
 * `afterLaunch`: opened by a launch, the pane is watched until the guest has found its volumes (a
 * success marker) or powered off; the banner then says so and where Esc leads (the VM: status, stop).
 */
export function LogScreen({controller, go, size, setEditing, back, path: given, afterLaunch = false}: ScreenProps & {back: Screen; path?: string; afterLaunch?: boolean}) {
  const path = given ?? serialLog();
  // Off the JavaScript heap: at 50,000 lines a second a ring of strings grows the heap by tens of MB.
  const lines = useMemo(() => new TextRing(KEEP, KEEP * 400), []);
  const tracker = useMemo(() => new MarkerTracker(), []);
  const [version, setVersion] = useState(0);
  // The feed `logs --follow` started while Ink loaded, or a new one. What it has read so far goes
  // into the first frame; what comes later, into the effect below.
  const [feed] = useState(() => controller.takeLogFeed(path) ?? new LogFeed(path));
  const [state, setState] = useState(() => {
    let status = 'waiting for the log to appear...';
    feed.drain((event) => void (status = applyEvent(event, path, lines, tracker) ?? status));
    return status;
  });

  useEffect(() => {
    // Lines arrive in bursts of thousands: one redraw per burst, within the frame budget.
    const budget = frameBudget(() => setVersion((v) => v + 1), FRAMES_PER_SECOND);
    feed.take((event) => {
      const status = applyEvent(event, path, lines, tracker);
      if (status === undefined) budget.request();
      else setState(status);
    });
    void feed.start();
    return () => {
      budget.cancel();
      void feed.stop();
    };
  }, [feed, path, lines, tracker]);

  const provider: LogProvider = useMemo(
    () => ({
      totalLines: () => lines.size,
      lines: (from, count) => lines.slice(from, count),
    }),
    [lines],
  );
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
        provider={provider}
        version={version}
        width={size.width}
        height={size.height - 1}
        title={path}
        hintFor={(line) => {
          const m = matchHint(line);
          return m ? {severity: m.hint.severity, title: m.hint.title} : undefined;
        }}
        onBack={() => go(back)}
        onEditingChange={setEditing}
      />
    </Box>
  );
}

/** A line or a restart goes into the ring and the marker tracker; any other event gives the new status line. */
function applyEvent(event: LogEvent, path: string, lines: TextRing, tracker: MarkerTracker): string | undefined {
  switch (event.type) {
    case 'line':
      lines.push(event.line.text);
      tracker.push(event.line.raw);
      return undefined;
    case 'restarted':
      lines.push(`──── VM restarted (the log was ${event.reason}) ────`);
      tracker.reset();
      return undefined;
    case 'waiting':
      return `waiting for ${path} to appear...`;
    case 'opened':
      return `following ${path}`;
    case 'unreadable':
      return `cannot read ${path}: ${event.why} (run as root?)`;
  }
}
