// The serial log pane: follows /tmp/tdx-guest-td.log (waiting for it to appear), marks a VM
// restart when QEMU truncates it, highlights known lines and shows the latest hint above.
import {useEffect, useMemo, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {serialLog} from '../src/paths.js';
import {Ring} from '../src/ring.js';
import {actionFor, MarkerTracker, matchHint} from '../src/vm/hints.js';
import {LogTail} from '../src/vm/tail.js';
import {LogPane, type LogProvider} from './LogPane.js';
import type {Screen, ScreenProps} from './screens.js';
import {fit, severityGlyph, severityTone, tone} from './theme.js';

const KEEP = 5000;
const RENDER_EVERY_MS = 50;

export function LogScreen({controller, go, size, setEditing, back, path: given}: ScreenProps & {back: Screen; path?: string}) {
  const path = given ?? serialLog();
  const lines = useMemo(() => new Ring<string>(KEEP), []);
  const tracker = useMemo(() => new MarkerTracker(), []);
  const [version, setVersion] = useState(0);
  const [state, setState] = useState('waiting for the log to appear...');
  const dirty = useRef(false);

  useEffect(() => {
    const tail = new LogTail(path, {ringSize: 200});
    tail.on('line', (line) => {
      lines.push(line.text);
      tracker.push(line.raw);
      dirty.current = true;
    });
    tail.on('restarted', ({reason}) => {
      lines.push(`──── VM restarted (the log was ${reason}) ────`);
      tracker.reset();
      dirty.current = true;
    });
    tail.on('waiting', () => setState(`waiting for ${path} to appear...`));
    tail.on('opened', () => setState(`following ${path}`));
    tail.on('unreadable', (why) => setState(`cannot read ${path}: ${why} (run as root?)`));
    // Lines arrive in bursts of thousands: the pane redraws at most 20 times a second.
    const timer = setInterval(() => {
      if (!dirty.current) return;
      dirty.current = false;
      setVersion((v) => v + 1);
    }, RENDER_EVERY_MS);
    void tail.start();
    return () => {
      clearInterval(timer);
      void tail.stop();
    };
  }, [path, lines, tracker]);

  const provider: LogProvider = useMemo(
    () => ({
      totalLines: () => lines.size,
      lines: (from, count) => lines.last(lines.size).slice(from, from + count),
    }),
    [lines],
  );
  const markers = tracker.state;
  const cause = markers.cause;
  const volume = controller.settings.get('volumePath');
  const banner = cause
    ? `${severityGlyph(cause.hint.severity)} ${cause.hint.title}${cause.hint.action ? ` — ${actionFor(cause.hint, {volume})}` : ''}`
    : markers.poweredOff
      ? 'The VM powered off.'
      : state;
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
