// One labelled choice among a few fixed values: "❯ Network type  user   ← tap · user →". ←/→ move
// through the values; typing the first letters of one picks it (type-ahead), so a value is never
// misspelt. Enter, Esc and ↑/↓ are left to the form.
import {useRef} from 'react';
import {Box, Text} from 'ink';
import {useKeymap} from './keymap.js';
import {emphasis, fit, glyphs, pad, textWidth, tone} from './theme.js';

export interface ChoiceFieldProps {
  label: string;
  value: string;
  choices: readonly string[];
  onChange: (value: string) => void;
  width: number;
  labelWidth?: number;
  focus?: boolean;
}

/** Typed letters within this long of each other build one prefix. */
const TYPE_AHEAD_MS = 1000;

export function ChoiceField({label, value, choices, onChange, width, labelWidth, focus = true}: ChoiceFieldProps) {
  const typed = useRef({text: '', at: 0});
  useKeymap('choice', (action, input, key) => {
    const i = Math.max(0, choices.indexOf(value));
    if (action === 'left' || action === 'right') {
      const next = choices[(i + (action === 'left' ? choices.length - 1 : 1)) % choices.length]!;
      if (next !== value) onChange(next);
      return;
    }
    if (!input || key.ctrl || key.meta || key.return || key.escape || key.tab) return;
    const now = Date.now();
    const text = (now - typed.current.at < TYPE_AHEAD_MS ? typed.current.text : '') + input.toLowerCase();
    typed.current = {text, at: now};
    const match = choices.find((c) => c.toLowerCase().startsWith(text)) ?? choices.find((c) => c.toLowerCase().startsWith(input.toLowerCase()));
    if (match && match !== value) onChange(match);
  }, focus);

  const g = glyphs();
  const lw = labelWidth ?? textWidth(label);
  const others = choices.join(' · ');
  const room = Math.max(1, width - textWidth(g.pointer) - 1 - lw - 1);
  return (
    <Box height={1} width={width} overflow="hidden">
      <Text {...tone(focus ? 'accent' : undefined)}>{focus ? g.pointer : ' '.repeat(textWidth(g.pointer))} </Text>
      <Text {...emphasis('bold', focus)}>{pad(label, lw)} </Text>
      <Text {...emphasis('bold', focus)}>{fit(value, room)}</Text>
      {focus ? <Text {...tone('muted')}>{fit(`   ← ${others} →`, Math.max(0, room - textWidth(value)))}</Text> : null}
    </Box>
  );
}
