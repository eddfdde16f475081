// One labelled text input row: "❯ Size        5000G▏  ✔". It edits (printable keys, Backspace,
// Delete, ←/→, Home/End, Ctrl+U) and leaves Enter, Esc and ↑/↓ to its parent. A `secret` field
// shows one '*' per character and never renders its value.
// Edits are computed from a ref, not from props: keys that arrive together (a paste, fast typing)
// must not be applied to a stale value.
import {useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {useKeymap} from './keymap.js';
import {emphasis, fit, glyphs, pad, textWidth, tone} from './theme.js';

export type Validation = {ok: true} | {ok: false; message: string; fix?: string};

export interface TextFieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  width: number;
  /** Columns for the label (so fields line up); default: the label's own width. */
  labelWidth?: number;
  focus?: boolean;
  secret?: boolean;
  placeholder?: string;
  /** Drawn after the value: ✔ for valid, ✖ for invalid, nothing when undefined. */
  valid?: boolean;
}

export function TextField({label, value, onChange, width, labelWidth, focus = true, secret = false, placeholder, valid}: TextFieldProps) {
  const edit = useRef({value, cursor: value.length});
  const [, setTick] = useState(0);
  if (edit.current.value !== value) edit.current = {value, cursor: value.length}; // changed from outside

  useKeymap('input', (action, input, key) => {
    const {value: v, cursor: c} = edit.current;
    let next = v;
    let cursor = c;
    if (key.return || key.escape || key.upArrow || key.downArrow || key.tab || key.pageUp || key.pageDown) return;
    if (action === 'clear') [next, cursor] = ['', 0];
    else if (action === 'left') cursor = Math.max(0, c - 1);
    else if (action === 'right') cursor = Math.min(v.length, c + 1);
    else if (action === 'home') cursor = 0;
    else if (action === 'end') cursor = v.length;
    else if (action === 'erase') [next, cursor] = c > 0 ? [v.slice(0, c - 1) + v.slice(c), c - 1] : [v, c];
    else if (input && !key.ctrl && !key.meta) {
      const text = input.replace(/[\x00-\x1f\x7f]/g, '');
      [next, cursor] = [v.slice(0, c) + text + v.slice(c), c + text.length];
    } else return;
    edit.current = {value: next, cursor};
    setTick((t) => t + 1);
    if (next !== v) onChange(next);
  }, focus);

  const g = glyphs();
  const lw = labelWidth ?? textWidth(label);
  const mark = valid === undefined ? '' : valid ? g.done : g.failed;
  const room = Math.max(1, width - textWidth(g.pointer) - 1 - lw - 1 - (mark ? textWidth(mark) + 1 : 0) - 1);
  const shown = secret ? '*'.repeat(edit.current.value.length) : edit.current.value;
  const cursor = Math.min(edit.current.cursor, shown.length);
  // Keep the cursor in view: show the tail of long values.
  const start = Math.max(0, cursor - room + 1);
  const before = shown.slice(start, cursor);
  const after = shown.slice(cursor, start + room);

  return (
    <Box height={1} width={width} overflow="hidden">
      <Text {...tone(focus ? 'accent' : undefined)}>{focus ? g.pointer : ' '.repeat(textWidth(g.pointer))} </Text>
      <Text {...emphasis('bold', focus)}>{pad(label, lw)} </Text>
      {shown === '' && placeholder && !focus ? (
        <Text {...tone('muted')}>{fit(placeholder, room)}</Text>
      ) : focus ? (
        <Text>
          {before}
          {themeCursor(after)}
          {after.slice(1)}
        </Text>
      ) : (
        <Text>{fit(shown, room)}</Text>
      )}
      {shown === '' && placeholder && focus ? <Text {...tone('muted')}>{fit(placeholder, room - 1)}</Text> : null}
      {mark ? <Text {...tone(valid ? 'ok' : 'error')}> {mark}</Text> : null}
    </Box>
  );
}

/** The cursor: inverse video on the character under it with colour on, else a visible mark. */
function themeCursor(after: string) {
  const ch = after[0];
  const styled = emphasis('inverse');
  if (styled.inverse) return <Text inverse>{ch ?? ' '}</Text>;
  return <Text>{glyphs().cursor}{ch ?? ''}</Text>;
}
