// The `?` overlay: every key of the given scopes, grouped by scope, printed from the keymap (the
// same rows that handle the keys). Esc, ? or q closes it. Fits in `height` rows; what does not fit
// is counted in the last row.
import {Box, Text} from 'ink';
import {bindingsFor, keyLabel, SCOPE_TITLES, useKeymap, type Scope} from './keymap.js';
import {emphasis, fit, formatCount, pad, textWidth, tone} from './theme.js';

export interface KeyHelpProps {
  scopes: readonly Scope[];
  width: number;
  height: number;
  onClose: () => void;
  isActive?: boolean;
}

type Row = {kind: 'title'; text: string} | {kind: 'key'; label: string; description: string};

export function keyHelpRows(scopes: readonly Scope[]): Row[] {
  const rows: Row[] = [];
  for (const scope of [...scopes, 'help' as const].filter((s, i, all) => all.indexOf(s) === i)) {
    const bindings = bindingsFor(scope);
    if (bindings.length === 0) continue;
    rows.push({kind: 'title', text: SCOPE_TITLES[scope]});
    for (const b of bindings) rows.push({kind: 'key', label: keyLabel(b), description: b.description});
  }
  return rows;
}

export function KeyHelp({scopes, width, height, onClose, isActive = true}: KeyHelpProps) {
  useKeymap('help', (action) => {
    if (action === 'close') onClose();
  }, isActive);

  const all = keyHelpRows(scopes);
  const room = Math.max(0, height - 1);
  const shown = all.length > room ? all.slice(0, Math.max(0, room - 1)) : all;
  const hidden = all.length - shown.length;
  const labelWidth = Math.min(Math.floor(width / 2), Math.max(0, ...all.map((r) => (r.kind === 'key' ? textWidth(r.label) : 0))));
  if (height <= 0) return null;
  return (
    <Box flexDirection="column" width={width}>
      <Box height={1} width={width} overflow="hidden">
        <Text {...emphasis('bold')}>{fit('Keys', width)}</Text>
      </Box>
      {shown.map((row, i) => (
        <Box key={i} height={1} width={width} overflow="hidden">
          {row.kind === 'title' ? (
            <Text {...tone('accent')} {...emphasis('underline')}>{fit(row.text, width)}</Text>
          ) : (
            <Text>
              {'  '}
              <Text {...emphasis('bold')}>{pad(row.label, labelWidth)}</Text>
              {fit(`  ${row.description}`, Math.max(0, width - labelWidth - 2))}
            </Text>
          )}
        </Box>
      ))}
      {hidden > 0 ? (
        <Box height={1} width={width} overflow="hidden">
          <Text {...tone('muted')}>{fit(`${formatCount(hidden)} more rows: make the terminal taller`, width)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
