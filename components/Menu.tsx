// A selection list: ↑/↓ (or j/k) move, Enter selects, Esc goes back. Nothing else acts: digits and
// other letters are ignored, so a stray key can never start anything (ink-select-input selects on
// digit keys, which is why it is not used here).
//
// Destructive items (`destructive: true`) are drawn with a warning glyph and the word
// "destructive". Contract for callers: selecting a destructive item must only lead to a
// confirmation screen (TypedConfirm), never run the action directly. `onSelect` receives the item,
// so the caller can route on `item.destructive`.
import {useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {useKeymap} from './keymap.js';
import {emphasis, fit, glyphs, textWidth, tone} from './theme.js';

export interface MenuItem<V extends string = string> {
  value: V;
  label: string;
  /** Shown dimmed after the label. */
  description?: string;
  destructive?: boolean;
  /** Shown but not selectable (skipped when moving). */
  disabled?: boolean;
  /** Why a disabled item cannot be chosen now, shown after it. */
  why?: string;
}

export interface MenuProps<V extends string = string> {
  items: readonly MenuItem<V>[];
  onSelect: (item: MenuItem<V>) => void;
  onBack?: () => void;
  onHighlight?: (item: MenuItem<V>) => void;
  width: number;
  /** Rows available; longer menus scroll. Default: all items. */
  height?: number;
  initialValue?: V;
  isActive?: boolean;
}

function step<V extends string>(items: readonly MenuItem<V>[], from: number, dir: 1 | -1): number {
  for (let i = from + dir; i >= 0 && i < items.length; i += dir) if (!items[i]!.disabled) return i;
  return from;
}

export function Menu<V extends string = string>({items, onSelect, onBack, onHighlight, width, height, initialValue, isActive = true}: MenuProps<V>) {
  const initial = Math.max(0, items.findIndex((item) => item.value === initialValue && !item.disabled));
  const first = items[initial]?.disabled ? step(items, -1, 1) : initial;
  const selected = useRef(first);
  const [index, setIndex] = useState(first);
  const topRef = useRef(0);

  useKeymap('menu', (action) => {
    const i = Math.min(selected.current, items.length - 1);
    if (action === 'up' || action === 'down') {
      const next = step(items, i, action === 'up' ? -1 : 1);
      selected.current = next;
      setIndex(next);
      if (next !== i && items[next]) onHighlight?.(items[next]);
    } else if (action === 'select') {
      const item = items[i];
      if (item && !item.disabled) onSelect(item);
    } else if (action === 'back') {
      onBack?.();
    }
  }, isActive);

  const g = glyphs();
  const rows = Math.max(1, Math.min(height ?? items.length, items.length));
  // Scroll only when the selection would leave the window.
  let top = Math.min(topRef.current, Math.max(0, items.length - rows));
  if (index < top) top = index;
  if (index >= top + rows) top = index - rows + 1;
  topRef.current = top;
  const hiddenAbove = top;
  const hiddenBelow = Math.max(0, items.length - top - rows);
  const pointerWidth = textWidth(g.pointer);

  return (
    <Box flexDirection="column" width={width}>
      {items.slice(top, top + rows).map((item, k) => {
        const i = top + k;
        const isSelected = i === index;
        const tag = `${item.destructive ? ` ${g.warn} destructive` : ''}${item.disabled ? ` (unavailable${item.why ? `: ${item.why}` : ''})` : ''}`;
        const more = k === 0 && hiddenAbove ? ` (${hiddenAbove} more above)` : k === rows - 1 && hiddenBelow ? ` (${hiddenBelow} more below)` : '';
        const labelRoom = Math.max(0, width - pointerWidth - 1 - textWidth(tag) - textWidth(more));
        const label = fit(item.label, labelRoom);
        const descRoom = labelRoom - textWidth(label) - 2;
        return (
          <Box key={item.value} height={1} width={width} overflow="hidden">
            <Text {...tone('accent')}>{isSelected ? g.pointer : ' '.repeat(pointerWidth)} </Text>
            <Text {...tone(item.disabled ? 'muted' : undefined)} {...emphasis('bold', isSelected)}>{label}</Text>
            {item.description && descRoom > 3 ? <Text {...tone('muted')}>{`  ${fit(item.description, descRoom)}`}</Text> : null}
            {tag ? <Text {...tone(item.destructive ? 'warn' : 'muted')}>{tag}</Text> : null}
            {more ? <Text {...tone('muted')}>{more}</Text> : null}
          </Box>
        );
      })}
    </Box>
  );
}
