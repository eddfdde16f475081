// The flow's steps, each with a status glyph (○ pending, ● running, ✔ done, ✖ failed, ⊘ skipped;
// ASCII: [ ] [*] [ok] [x] [-]), its detail and its elapsed time. Under 60 columns (or with
// `compact`) the list becomes one row: "● Step 3/6: Format ext4 · 12 s".
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {StepState} from '../src/store.js';
import {emphasis, fit, formatDuration, glyphs, pad, statusGlyph, statusTone, textWidth, tone} from './theme.js';

export interface StepListProps {
  steps: readonly StepState[];
  width: number;
  /** Rows available; the list scrolls to keep the current step visible. Default: all steps. */
  height?: number;
  /** true: the one-row form; false: the full list even when narrow (a side pane). Default: one row under 60 columns. */
  compact?: boolean;
  /** Clock for elapsed times (tests); when absent, a 1 s timer runs while a step is running. */
  now?: number;
}

export const COMPACT_BELOW = 60;

/** The step the operator cares about: the running one, else the first failed, else the next pending. */
export function currentStepIndex(steps: readonly StepState[]): number {
  const find = (s: StepState['status']) => steps.findIndex((step) => step.status === s);
  for (const status of ['running', 'failed', 'pending'] as const) {
    const i = find(status);
    if (i >= 0) return i;
  }
  return steps.length - 1;
}

export function elapsed(step: StepState, now: number): string {
  if (step.startedAt === undefined) return '';
  return formatDuration((step.endedAt ?? now) - step.startedAt);
}

/** The time to draw with: `now` when given, else the render's time, re-rendered every second while `ticking`. */
export function useClock(now: number | undefined, ticking: boolean): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (now !== undefined || !ticking) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [now, ticking]);
  return now ?? Date.now();
}

export function StepList({steps, width, height, compact, now}: StepListProps) {
  const clock = useClock(now, steps.some((s) => s.status === 'running'));
  const current = currentStepIndex(steps);
  if (steps.length === 0) return null;

  if (compact ?? width < COMPACT_BELOW) {
    const step = steps[current]!;
    const allDone = steps.every((s) => s.status === 'done' || s.status === 'skipped');
    const time = elapsed(step, clock);
    const text = allDone
      ? `${steps.length}/${steps.length} steps done`
      : `Step ${current + 1}/${steps.length}: ${step.title}${time ? `${glyphs().separator}${time}` : ''}`;
    const glyph = allDone ? glyphs().done : statusGlyph(step.status);
    return (
      <Box width={width} height={1} overflow="hidden">
        <Text wrap="truncate-end">
          <Text {...tone(allDone ? 'ok' : statusTone(step.status))}>{glyph}</Text> {fit(text, width - textWidth(glyph) - 1)}
        </Text>
      </Box>
    );
  }

  const rows = Math.max(1, height ?? steps.length);
  const top = Math.min(Math.max(0, current - Math.floor(rows / 2)), Math.max(0, steps.length - rows));
  const visible = steps.slice(top, top + rows);
  const glyphWidth = Math.max(...steps.map((s) => textWidth(statusGlyph(s.status))));
  return (
    <Box flexDirection="column" width={width}>
      {visible.map((step, i) => {
        const time = elapsed(step, clock);
        const timeWidth = time ? textWidth(time) + 1 : 0;
        const titleWidth = Math.max(0, width - glyphWidth - 1 - timeWidth);
        const detail = step.detail ? `${glyphs().separator}${step.detail}` : '';
        const disk = step.changedDisk ? ' (disk changed)' : '';
        const isCurrent = top + i === current;
        return (
          <Box key={step.id} height={1} width={width} overflow="hidden">
            <Text {...tone(statusTone(step.status))}>{pad(statusGlyph(step.status), glyphWidth)} </Text>
            <Text {...emphasis('bold', isCurrent)}>{pad(`${step.title}${disk}${detail}`, titleWidth)}</Text>
            {time ? <Text {...tone('muted')}> {time}</Text> : null}
          </Box>
        );
      })}
    </Box>
  );
}
