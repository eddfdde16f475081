// Runs one controller action and shows it live: the step list beside, the running command's
// output pane here. On success the pane collapses and Enter goes on; on failure it stays open
// with the error, and Enter goes back.
import {useEffect, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {Wrapped, wrappedRows} from './Wrapped.js';
import type {ActionOutcome} from '../src/wizard/controller.js';
import {useKeymap} from './keymap.js';
import {OutputPane} from './OutputPane.js';
import type {Screen, ScreenProps} from './screens.js';
import {fit, glyphs, tone} from './theme.js';

type RunProps = ScreenProps & {screen: Extract<Screen, {name: 'run'}>};

export function RunScreen({controller, go, size, screen}: RunProps) {
  const [outcome, setOutcome] = useState<ActionOutcome>();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void screen.action().then(setOutcome);
  }, [screen]);

  useKeymap(
    'menu',
    (action) => {
      if (!outcome) return;
      if (action === 'select') go(outcome.ok ? (screen.next ?? screen.back) : screen.back);
      else if (action === 'back') go(screen.back);
    },
    Boolean(outcome),
  );

  const g = glyphs();
  const status = !outcome
    ? {text: `${g.running} running... (Ctrl+C twice cancels and cleans up)`, tone: 'running' as const}
    : outcome.ok
      ? {text: `${g.done} done${outcome.detail ? `: ${outcome.detail}` : ''}`, tone: 'ok' as const}
      : {text: `${g.failed} ${outcome.cancelled ? 'cancelled' : 'failed'}: ${outcome.message}`, tone: 'error' as const};
  const fix = outcome && !outcome.ok ? outcome.fix : undefined;
  const hint = outcome ? (outcome.ok ? `Enter: ${screen.next ? 'continue' : 'back'}` : `Enter or Esc: back${screen.changesDisk ? ' (what was changed on disk was undone where it could be)' : ''}`) : '';
  // The outcome and its fix whole, on as many rows as they need (a fix is a command to copy): the
  // output pane gives up rows for them.
  const statusRows = wrappedRows(status.text, size.width, 4);
  const fixRows = fix ? wrappedRows(fix, size.width, 4, 'fix: ') : [];
  const summary = outcome?.ok ? (screen.summary ?? []) : [];
  const summaryRows = summary.flatMap((line) => wrappedRows(line, size.width, 4));
  const paneHeight = Math.max(3, size.height - 1 - statusRows.length - fixRows.length - summaryRows.length);
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <OutputPane store={controller.store} width={size.width} height={paneHeight} />
      <Wrapped text={status.text} width={size.width} maxRows={4} toneName={status.tone} />
      {fix ? <Wrapped text={fix} lead="fix: " width={size.width} maxRows={4} toneName="info" /> : null}
      {summary.map((line, k) => (
        <Wrapped key={k} text={line} width={size.width} maxRows={4} toneName={k === 0 ? undefined : 'info'} />
      ))}
      <Text {...tone('muted')}>{fit(hint, size.width)}</Text>
    </Box>
  );
}
