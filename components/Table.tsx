// A plain column table (NBD devices, host checks). Column widths start at their content and the
// widest columns give way first until the row fits; cells are cut with an ellipsis, never wrapped.
import {Box, Text} from 'ink';
import {emphasis, fit, formatCount, glyphs, pad, textWidth, tone, type Tone} from './theme.js';

export interface Column {
  key: string;
  title: string;
  /** Fixed width (never shrunk). */
  width?: number;
  /** Narrowest this column may become when space is short (default 3). */
  minWidth?: number;
  align?: 'left' | 'right';
}

export interface TableProps {
  columns: readonly Column[];
  rows: readonly Record<string, string>[];
  width: number;
  /** Rows available, header included; extra rows are counted in the last row. */
  height?: number;
  /** Marks one row with the pointer. */
  selectedIndex?: number;
  /** Colour for a row (the row's own text must still say what the colour means). */
  rowTone?: (row: Record<string, string>, index: number) => Tone | undefined;
}

const GAP = 2;

export function columnWidths(columns: readonly Column[], rows: readonly Record<string, string>[], available: number): number[] {
  const widths = columns.map((c) => c.width ?? Math.max(textWidth(c.title), ...rows.map((r) => textWidth(r[c.key] ?? ''))));
  const room = available - GAP * Math.max(0, columns.length - 1);
  let total = widths.reduce((a, b) => a + b, 0);
  while (total > room) {
    let widest = -1;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i]!;
      if (c.width !== undefined || widths[i]! <= (c.minWidth ?? 3)) continue;
      if (widest < 0 || widths[i]! > widths[widest]!) widest = i;
    }
    if (widest < 0) break; // nothing left to shrink: the row box cuts the rest
    const cut = Math.min(total - room, widths[widest]! - (columns[widest]!.minWidth ?? 3), Math.max(1, Math.ceil((total - room) / columns.length)));
    widths[widest] = widths[widest]! - cut;
    total -= cut;
  }
  return widths;
}

export function Table({columns, rows, width, height, selectedIndex, rowTone}: TableProps) {
  const g = glyphs();
  const pointer = selectedIndex === undefined ? 0 : textWidth(g.pointer) + 1;
  const widths = columnWidths(columns, rows, width - pointer);
  const room = height === undefined ? rows.length : Math.max(0, height - 1);
  const count = rows.length <= room ? rows.length : Math.max(0, room - 1);
  const start = selectedIndex === undefined ? 0 : Math.min(Math.max(0, selectedIndex - count + 1), rows.length - count);
  const visible = rows.slice(start, start + count);
  const hidden = rows.length - count;
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => pad(cell, widths[i]!, columns[i]!.align)).join(' '.repeat(GAP));

  if (height !== undefined && height <= 0) return null;
  return (
    <Box flexDirection="column" width={width}>
      <Box height={1} width={width} overflow="hidden">
        <Text {...emphasis('bold')}>{' '.repeat(pointer)}{fit(line(columns.map((c) => c.title)), width - pointer)}</Text>
      </Box>
      {visible.map((row, k) => {
        const r = start + k;
        return (
        <Box key={r} height={1} width={width} overflow="hidden">
          {pointer ? <Text {...tone('accent')}>{r === selectedIndex ? `${g.pointer} ` : ' '.repeat(pointer)}</Text> : null}
          <Text {...tone(rowTone?.(row, r))} {...emphasis('bold', r === selectedIndex)}>
            {fit(line(columns.map((c) => row[c.key] ?? '')), width - pointer)}
          </Text>
        </Box>
        );
      })}
      {hidden > 0 ? (
        <Box height={1} width={width} overflow="hidden">
          <Text {...tone('muted')}>{fit(`${formatCount(hidden)} more rows`, width)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
