// A one-row progress bar: "[█████░░░░░]  45%" (ASCII: "[#####-----]  45%"). The percentage is
// always printed, so the bar's colour is never the only signal.
import {Box, Text} from 'ink';
import {fit, glyphs, textWidth, tone, type Tone} from './theme.js';

export interface ProgressBarProps {
  /** Fraction done, 0..1 (values outside are clamped; NaN counts as 0). */
  value: number;
  /** Columns for the whole row, label included. */
  width: number;
  label?: string;
  tone?: Tone;
}

export function progressText(value: number, barWidth: number): {bar: string; rest: string; percent: string} {
  const v = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  const filled = Math.round(v * barWidth);
  const g = glyphs();
  return {bar: g.barFull.repeat(filled), rest: g.barEmpty.repeat(barWidth - filled), percent: `${Math.floor(v * 100)}%`.padStart(4)};
}

export function ProgressBar({value, width, label, tone: t = 'accent'}: ProgressBarProps) {
  const labelText = label ? fit(label, Math.max(0, Math.floor(width / 3))) : '';
  const labelWidth = labelText ? textWidth(labelText) + 1 : 0;
  // "[" + bar + "] " + "100%"
  const barWidth = Math.max(0, width - labelWidth - 7);
  const {bar, rest, percent} = progressText(value, barWidth);
  return (
    <Box width={width} height={1} overflow="hidden">
      <Text wrap="truncate-end">
        {labelText ? `${labelText} ` : ''}
        {barWidth > 0 ? '[' : ''}
        <Text {...tone(t)}>{bar}</Text>
        <Text {...tone('muted')}>{rest}</Text>
        {barWidth > 0 ? '] ' : ''}
        {percent}
      </Text>
    </Box>
  );
}
