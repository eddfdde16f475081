// A message in full: broken at spaces onto as many rows as it needs (up to `maxRows`), each row
// after the first indented under the text, every row exactly one terminal row.
import {Box, Text} from 'ink';
import {hangingRows, tone, type Tone} from './theme.js';

export function wrappedRows(text: string, width: number, maxRows: number, lead = ''): string[] {
  return text ? hangingRows(lead, text, width, maxRows) : [];
}

export function Wrapped({text, width, maxRows = 4, lead = '', toneName}: {text: string; width: number; maxRows?: number; lead?: string; toneName?: Tone}) {
  return (
    <>
      {wrappedRows(text, width, maxRows, lead).map((row, k) => (
        <Box key={k} height={1} width={width} overflow="hidden">
          <Text {...tone(toneName)}>{row}</Text>
        </Box>
      ))}
    </>
  );
}
