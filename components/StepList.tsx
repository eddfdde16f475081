// The flow's steps, each with a status glyph (○ pending, ● running, ✔ done, ✖ failed, ⊘ skipped;
// ASCII: [ ] [*] [ok] [x] [-]), its detail and its elapsed time. Under 60 columns (or with
// `compact`) the list becomes one row: "● Step 3/6: Format ext4 · 12 s".
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {StepState} from '../src/store.js';
import {emphasis, fit, formatDuration, glyphs, pad, statusGlyph, statusTone, textWidth, tone, wrapRows} from './theme.js';

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

/** Who gets spare rows first: the current step, then one that failed, then the rest. */
function rank(step: StepState, isCurrent: boolean): number {
  return isCurrent ? 2 : step.status === 'failed' ? 1 : 0;
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
  const layout = visible.map((step) => {
    const time = elapsed(step, clock);
    const titleWidth = Math.max(1, width - glyphWidth - 1 - (time ? textWidth(time) + 1 : 0));
    const text = `${step.title}${step.changedDisk ? ' (disk changed)' : ''}${step.detail ? `${glyphs().separator}${step.detail}` : ''}`;
    return {step, time, titleWidth, text, wanted: wrapRows(text, titleWidth, 4).length, given: 1};
  });
  // Every step gets a row; the rows left over let names and details wrap instead of being cut:
  // the current step first, then a failed one, then the others in order.
  let spare = rows - layout.length;
  const currentStep = steps[current];
  const order = [...layout].sort((a, b) => rank(b.step, b.step === currentStep) - rank(a.step, a.step === currentStep));
  for (const item of order) {
    const more = Math.min(spare, item.wanted - 1);
    item.given += more;
    spare -= more;
  }
  return (
    <Box flexDirection="column" width={width}>
      {layout.map(({step, time, titleWidth, text, given}, i) => {
        const isCurrent = top + i === current;
        const lines = wrapRows(text, titleWidth, given);
        return (
          <Box key={step.id} flexDirection="column" width={width}>
            {lines.map((line, k) => (
              <Box key={k} height={1} width={width} overflow="hidden">
                <Text {...tone(statusTone(step.status))}>{pad(k === 0 ? statusGlyph(step.status) : '', glyphWidth)} </Text>
                <Text {...emphasis('bold', isCurrent)}>{pad(line, titleWidth)}</Text>
                {time && k === 0 ? <Text {...tone('muted')}> {time}</Text> : null}
              </Box>
            ))}
          </Box>
        );
      })}
    </Box>
  );
}
