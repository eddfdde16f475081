// The review before a launch: the exact invocation (whole, hard-wrapped: a command cut short could
// hide a flag), where the seed goes (the adapter's exposure note once, when upstream exposes it),
// what a production guest's first boot does to each volume, and anything that would refuse the
// launch. Launch is offered only when nothing does.
import {basename} from 'node:path';
import {Box, Text} from 'ink';
import type {Era} from '../../src/era/eras.js';
import type {LaunchReview as Review} from '../../src/wizard/launch-review.js';
import {Menu} from '../Menu.js';
import {Wrapped} from '../Wrapped.js';
import {fit, glyphs, tone} from '../theme.js';

/** Cuts text into rows of `width` (the exact command must be shown whole, not truncated). */
export function hardWrap(text: string, width: number, maxRows: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < text.length && rows.length < maxRows; i += Math.max(1, width)) rows.push(text.slice(i, i + Math.max(1, width)));
  if (rows.length === maxRows && maxRows * width < text.length) rows[maxRows - 1] = fit(rows[maxRows - 1]! + '…', width);
  return rows;
}

export interface LaunchReviewProps {
  era: Era;
  review: Review;
  notes: string[];
  width: number;
  height: number;
  onLaunch: () => void;
  onBack: () => void;
}

export function LaunchReview({era, review, notes, width, height, onLaunch, onBack}: LaunchReviewProps) {
  const blocked = review.problems.length > 0;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text>{fit(`Review: the exact command for the ${era.id} launcher${review.exposure ? ' (the seed is masked here, not for the launcher)' : ''}:`, width)}</Text>
      {hardWrap(review.command, width, 8).map((line, i) => (
        <Text key={`c${i}`} {...tone('accent')}>
          {line}
        </Text>
      ))}
      {review.exposure ? <Wrapped text={review.exposure} width={width} maxRows={4} toneName="warn" /> : null}
      {review.seedNote ? <Wrapped text={review.seedNote} width={width} maxRows={2} toneName="muted" /> : null}
      {notes.map((n, k) => (
        <Wrapped key={`n${k}`} text={n} width={width} maxRows={2} toneName="muted" />
      ))}
      <Box marginTop={1}>
        <Text>{fit("What a production guest's first boot does to the volumes:", width)}</Text>
      </Box>
      {review.volumes.map((v) => (
        <Wrapped key={v.role} text={v.note} lead={`  ${v.role} ${basename(v.path)}: `} width={width} maxRows={3} />
      ))}
      {review.problems.map((p, k) => (
        <Wrapped key={`p${k}`} text={`${p.text}${p.fix ? ` (fix: ${p.fix})` : ''}`} lead={`${glyphs().failed} `} width={width} maxRows={4} toneName="error" />
      ))}
      <Box marginTop={1}>
        <Menu
          width={width}
          items={[
            {value: 'launch', label: blocked ? 'Launch the VM (fix the problems above first)' : 'Launch the VM', disabled: blocked},
            {value: 'back', label: 'Back to the parameters'},
          ]}
          onBack={onBack}
          onSelect={(item) => (item.value === 'back' ? onBack() : onLaunch())}
        />
      </Box>
    </Box>
  );
}
