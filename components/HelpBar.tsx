// The one-row help bar, printed from the keymap rows marked `bar` for the given scopes:
// "↑↓ j k move · Enter select · Esc back · ? help · q quit". When it does not fit, the scope's
// last items give way first; the global ones ("? help", which lists everything) stay.
import {Box, Text} from 'ink';
import {bindingsFor, keyLabel, type Action, type Scope} from './keymap.js';
import {fit, glyphs, textWidth, tone} from './theme.js';

export interface HelpBarProps {
  scopes: Scope | readonly Scope[];
  width: number;
  /** Actions that do nothing at the moment (q while a step runs). */
  hidden?: readonly Action[];
}

export function helpBarText(scopes: Scope | readonly Scope[], width = Infinity, hidden: readonly Action[] = []): string {
  const sep = glyphs().separator;
  const items = bindingsFor(scopes)
    .filter((b) => b.bar && !b.keys.every((k) => hidden.includes(k.action)))
    .map((b) => ({text: `${keyLabel(b)} ${b.description}`, global: b.scope === 'global'}));
  const join = () => items.map((i) => i.text).join(sep);
  for (let i = items.length - 1; textWidth(join()) > width && i >= 0; i--) {
    if (!items[i]!.global) items.splice(i, 1);
  }
  return join();
}

export function HelpBar({scopes, width, hidden}: HelpBarProps) {
  return (
    <Box height={1} width={width} overflow="hidden">
      <Text {...tone('muted')}>{fit(helpBarText(scopes, width, hidden), width) || ' '}</Text>
    </Box>
  );
}
