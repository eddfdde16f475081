// The volume set as a table: role, file, size, format, filesystem (with its label), status. Where
// a row's cells do not all fit the width, each volume takes two rows instead (the file name whole
// on the second): a file name or a label cut short is the one thing an operator cannot guess.
import {Box, Text} from 'ink';
import type {SetRow} from '../../src/wizard/set.js';
import {Table, type Column} from '../Table.js';
import {pad, textWidth, tone, type Tone} from '../theme.js';
import {wrappedRows} from '../Wrapped.js';

const COLUMNS: Column[] = [
  {key: 'role', title: 'role'},
  {key: 'file', title: 'file'},
  {key: 'size', title: 'size', align: 'right'},
  {key: 'format', title: 'format'},
  {key: 'fs', title: 'filesystem'},
  {key: 'status', title: 'status'},
];
const GAP = 2;

export const STATUS_TONE: Record<SetRow['status'], Tone> = {reuse: 'ok', create: 'info', problem: 'error'};

/** Rows the table takes at this width (so the screen can size what is below it). */
export function setTableHeight(rows: readonly SetRow[], width: number): number {
  return fitsOneRow(rows, width) ? rows.length + 1 : rows.reduce((n, r) => n + 1 + wrappedRows(r.file, width, 3, '    ').length, 0);
}

function fitsOneRow(rows: readonly SetRow[], width: number): boolean {
  const natural = COLUMNS.map((c) => Math.max(textWidth(c.title), ...rows.map((r) => textWidth(String(r[c.key as keyof SetRow])))));
  return natural.reduce((a, b) => a + b, 0) + GAP * (COLUMNS.length - 1) <= width;
}

export function SetTable({rows, width}: {rows: readonly SetRow[]; width: number}) {
  if (fitsOneRow(rows, width)) {
    return <Table columns={COLUMNS} rows={rows.map((r) => ({...r}))} width={width} rowTone={(row) => STATUS_TONE[row.status as SetRow['status']]} />;
  }
  const roleWidth = Math.max(...rows.map((r) => textWidth(r.role)));
  return (
    <Box flexDirection="column" width={width}>
      {rows.map((r) => (
        <Box key={r.role} flexDirection="column" width={width}>
          <Box height={1} width={width} overflow="hidden">
            <Text {...tone(STATUS_TONE[r.status])}>{pad(r.status, 8)}</Text>
            <Text>{`${pad(r.role, roleWidth)}  ${r.size} ${r.format} ${r.fs}`}</Text>
          </Box>
          {wrappedRows(r.file, width, 3, '    ').map((row, k) => (
            <Box key={k} height={1} width={width} overflow="hidden">
              <Text {...tone('muted')}>{row}</Text>
            </Box>
          ))}
        </Box>
      ))}
    </Box>
  );
}
