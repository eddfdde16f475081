// One host check in full: its status and title, the whole finding, every piece of evidence (what
// was run or read, and what it said) and the fix as a command to copy, each wrapped onto as many
// rows as it needs, never cut mid-word. `rows` bounds the height; what does not fit is said, and
// Enter on the check opens it alone with the whole screen.
import {Box, Text} from 'ink';
import type {Check} from '../../src/host/check-types.js';
import {emphasis, fit, glyphs, hangingRows, tone} from '../theme.js';

export const STATUS_TONE = {ok: 'ok', warn: 'warn', fail: 'error'} as const;

export function statusMark(status: Check['status']): string {
  const g = glyphs();
  return {ok: g.done, warn: g.warn, fail: g.failed}[status];
}

/** The rows of a check's detail, in order of importance (the fix before the evidence). */
export function detailRows(check: Check, width: number): Array<{text: string; tone?: 'muted' | 'info' | 'error' | 'warn' | 'ok'}> {
  const rows: Array<{text: string; tone?: 'muted' | 'info' | 'error' | 'warn' | 'ok'}> = [];
  for (const row of hangingRows('finding: ', check.summary, width, 8)) rows.push({text: row, tone: check.status === 'ok' ? undefined : STATUS_TONE[check.status]});
  if (check.fix) for (const row of hangingRows('fix: ', check.fix, width, 6)) rows.push({text: row, tone: 'info'});
  for (const e of check.evidence) for (const row of hangingRows(`${e.source}: `, e.said || '(nothing)', width, 4)) rows.push({text: row, tone: 'muted'});
  return rows;
}

export function CheckDetail({check, width, rows}: {check: Check; width: number; rows: number}) {
  const body = detailRows(check, width);
  const room = Math.max(0, rows - 1);
  const shown = body.length > room ? body.slice(0, Math.max(0, room - 1)) : body;
  const more = body.length - shown.length;
  return (
    <Box flexDirection="column" width={width}>
      <Box height={1} width={width} overflow="hidden">
        <Text {...tone(STATUS_TONE[check.status])} {...emphasis('bold')}>
          {fit(`${statusMark(check.status)} ${check.status}  ${check.title}`, width)}
        </Text>
      </Box>
      {shown.map((row, k) => (
        <Box key={k} height={1} width={width} overflow="hidden">
          <Text {...tone(row.tone)}>{row.text}</Text>
        </Box>
      ))}
      {more > 0 ? (
        <Box height={1} width={width} overflow="hidden">
          <Text {...tone('muted')}>{fit(`${more} more row${more === 1 ? '' : 's'}: Enter shows this check alone`, width)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
