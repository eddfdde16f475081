// The live output of one command run: its argv (already masked), the last output lines that fit,
// the line being rewritten in place, and a progress bar when the tool reports progress.
// A finished successful run collapses to one row ("✔ mkfs.ext4 -F /dev/nbd0p1 (1.2 s)"); a failed
// or cancelled one stays open with its output. Only the visible window is read from the run's ring
// (`lines.last(n)`), so the cost of a render does not depend on how much the command printed.
// Runs are mutated in place by the runner; the pane re-renders on the store's `outputTick`, at
// most 5 times a second while output pours in (see useOutputTick).
import {useEffect, useReducer} from 'react';
import {Box, Text} from 'ink';
import type {AppStore, RunRecord} from '../src/store.js';
import {shellLine} from '../src/runner/mask.js';
import {frameBudget} from './frameBudget.js';
import {ProgressBar} from './ProgressBar.js';
import {useClock} from './StepList.js';
import {useStoreState} from './useStoreState.js';
import {fit, formatCount, glyphs, formatDuration, statusGlyph, statusTone, statusWord, textWidth, tone} from './theme.js';

export interface OutputPaneProps {
  store: AppStore;
  /** Which run to show; default: the newest. */
  runId?: number;
  width: number;
  /** Rows available; the pane never renders more. */
  height: number;
  /** Default true: a successful run shrinks to its summary row. */
  collapseOnSuccess?: boolean;
  /** Clock for elapsed times (tests). */
  now?: number;
}

export function isCollapsed(run: RunRecord, collapseOnSuccess = true): boolean {
  return run.status === 'planned' || (collapseOnSuccess && run.status === 'ok');
}

function Header({run, width, now, summary}: {run: RunRecord; width: number; now: number; summary: boolean}) {
  const time = run.status === 'planned' ? 'planned' : formatDuration((run.endedAt ?? now) - run.startedAt);
  const parts = summary ? [`(${time})`] : [
    statusWord(run.status) + (run.exitCode !== undefined && run.status !== 'ok' ? ` (exit ${run.exitCode})` : ''),
    run.lines.total > 0 ? `${formatCount(run.lines.total)} lines` : '',
    time,
  ];
  const right = parts.filter(Boolean).join(glyphs().separator);
  const glyph = statusGlyph(run.status);
  const left = Math.max(0, width - textWidth(glyph) - 1 - textWidth(right) - 1);
  return (
    <Box height={1} width={width} overflow="hidden">
      <Text {...tone(statusTone(run.status))}>{glyph} </Text>
      <Text>{fit(`${summary ? '' : '$ '}${shellLine(run.argv)}`, left)} </Text>
      <Text {...tone('muted')}>{right}</Text>
    </Box>
  );
}

// The pane shares the machine with the command it shows: every frame Ink draws is CPU taken from
// mkfs (two cores). Under a flood of output it redraws at most 5 times a second.
const FRAMES_PER_SECOND = 5;

function useOutputTick(store: AppStore): void {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const budget = frameBudget(redraw, FRAMES_PER_SECOND);
    const unsubscribe = store.subscribe((state, previous) => {
      if (state.outputTick !== previous.outputTick) budget.request();
    });
    return () => {
      unsubscribe();
      budget.cancel();
    };
  }, [store]);
}

export function OutputPane({store, runId, width, height, collapseOnSuccess = true, now}: OutputPaneProps) {
  useOutputTick(store);
  const run = useStoreState(store, (s) => (runId === undefined ? s.runs.at(-1) : s.runs.find((r) => r.id === runId)));
  const clock = useClock(now, run?.status === 'running');
  if (!run || height <= 0) return null;

  if (isCollapsed(run, collapseOnSuccess) || height === 1) {
    return <Header run={run} width={width} now={clock} summary={isCollapsed(run, collapseOnSuccess)} />;
  }

  const running = run.status === 'running';
  const footer = run.progress !== undefined ? 'progress' : running && run.partial ? 'partial' : undefined;
  const room = Math.max(0, height - 1 - (footer ? 1 : 0));
  const lines = room > 0 ? run.lines.last(room) : [];
  return (
    <Box flexDirection="column" width={width}>
      <Header run={run} width={width} now={clock} summary={false} />
      {lines.length > 0 && (
        // One Text for the whole window, each line already cut to the width: Ink lays out and
        // clips one node instead of two per line, which halves the cost of a frame under a flood
        // (and a frame is time the command waits, its pipe full).
        <Box height={lines.length} width={width}>
          <Text>{lines.map((line) => fit(line.text, width)).join('\n')}</Text>
        </Box>
      )}
      {footer === 'progress' ? (
        <ProgressBar value={run.progress ?? 0} width={width} tone={statusTone(run.status) === 'error' ? 'error' : 'accent'} />
      ) : footer === 'partial' ? (
        <Box height={1} width={width} overflow="hidden">
          <Text wrap="truncate-end" {...tone('muted')}>{fit(run.partial, width)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
