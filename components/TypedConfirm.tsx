// Typed confirmation for a destructive action: says what will be lost, then asks the operator to
// type an exact string (the volume's file name or the device). Enter confirms only on an exact,
// case-sensitive match; any other text is refused with a message; Esc cancels. No single key ever
// confirms: the answer is always typed text plus Enter.
import {useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {useKeymap} from './keymap.js';
import {TextField} from './TextField.js';
import {emphasis, fit, glyphs, tone} from './theme.js';

export interface TypedConfirmProps {
  /** What is about to happen ("Format /dev/nbd0p1 as ext4"). */
  title: string;
  /** What will be lost, one line each. */
  lines: readonly string[];
  /** The exact text to type. */
  expected: string;
  onConfirm: () => void;
  onCancel: () => void;
  width: number;
  isActive?: boolean;
}

export function TypedConfirm({title, lines, expected, onConfirm, onCancel, width, isActive = true}: TypedConfirmProps) {
  const typed = useRef('');
  const done = useRef(false);
  const [, setTick] = useState(0);
  const [refused, setRefused] = useState<string | undefined>(undefined);

  useKeymap('confirm', (action) => {
    if (done.current) return;
    if (action === 'cancel') {
      done.current = true;
      onCancel();
    } else if (action === 'confirm') {
      if (expected !== '' && typed.current === expected) {
        done.current = true;
        onConfirm();
      } else {
        setRefused(typed.current);
      }
    }
  }, isActive);

  const g = glyphs();
  const value = typed.current;
  const matches = expected !== '' && value === expected;
  const row = (key: string, text: string, props: Record<string, unknown> = {}) => (
    <Box key={key} height={1} width={width} overflow="hidden">
      <Text {...props}>{fit(text, width) || ' '}</Text>
    </Box>
  );

  return (
    <Box flexDirection="column" width={width}>
      {row('title', `${g.warn} ${title}`, {...tone('warn'), ...emphasis('bold')})}
      {lines.map((line, i) => row(`line-${i}`, `  ${line}`))}
      {row('gap', '')}
      {row('ask', `Type ${expected} and press Enter to confirm.`)}
      {row('esc', 'Press Esc to cancel.', tone('muted'))}
      <TextField
        label="Confirm:"
        value={value}
        width={width}
        focus={isActive}
        valid={matches ? true : value === '' || expected.startsWith(value) ? undefined : false}
        onChange={(v) => {
          typed.current = v;
          setRefused(undefined);
          setTick((t) => t + 1);
        }}
      />
      {refused !== undefined
        ? row('refused', `${g.failed} "${refused}" is not "${expected}": type it exactly (case matters), or press Esc.`, tone('error'))
        : matches
          ? row('ready', `${g.done} Matches. Press Enter to go ahead.`, tone('ok'))
          : row('wait', '')}
    </Box>
  );
}
