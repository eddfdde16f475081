// Labelled text fields, validated as the operator types. The focused field shows its validator's
// message (and how to fix it) below it; Enter (or ↓) moves on only when the field is valid, and on
// the last field submits. ↑ goes to the previous field; Esc goes to the previous field, and on the
// first one calls onBack. Secret fields (the miner seed) are masked everywhere, messages included.
import {useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {maskText} from '../src/runner/mask.js';
import {useKeymap} from './keymap.js';
import {ChoiceField} from './ChoiceField.js';
import {TextField, type Validation} from './TextField.js';
import {fit, glyphs, hangingRows, textWidth, tone} from './theme.js';

export type {Validation};

export interface FieldSpec {
  name: string;
  label: string;
  initial?: string;
  placeholder?: string;
  /** One line shown under the focused field while it is valid; from its value (a path resolved) or fixed. */
  hint?: string | ((value: string) => string | undefined);
  secret?: boolean;
  /** A fixed set of values: the field is a choice (←/→), never free text. */
  choices?: readonly string[];
  /** Checks the value as it is typed; `values` are all the form's fields (a gateway is checked against the VM's IP). */
  validate?: (value: string, values: Readonly<Record<string, string>>) => Validation;
}

export interface FormProps {
  fields: readonly FieldSpec[];
  onSubmit: (values: Record<string, string>) => void;
  onBack: () => void;
  onChange?: (values: Record<string, string>) => void;
  width: number;
  isActive?: boolean;
}

const OK: Validation = {ok: true};

export function Form({fields, onSubmit, onBack, onChange, width, isActive = true}: FormProps) {
  const values = useRef<Record<string, string>>(Object.fromEntries(fields.map((f) => [f.name, f.initial ?? ''])));
  const focusRef = useRef(0);
  const [focus, setFocusState] = useState(0);
  const [attempted, setAttempted] = useState<ReadonlySet<string>>(new Set());
  const [, setTick] = useState(0);

  const check = (field: FieldSpec): Validation => field.validate?.(values.current[field.name] ?? '', values.current) ?? OK;
  const change = (field: FieldSpec, v: string) => {
    values.current = {...values.current, [field.name]: v};
    setTick((t) => t + 1);
    onChange?.({...values.current});
  };
  const setFocus = (i: number) => {
    focusRef.current = i;
    setFocusState(i);
  };

  useKeymap('form', (action) => {
    const i = focusRef.current;
    const field = fields[i];
    if (!field) return;
    if (action === 'next') {
      if (!check(field).ok) return setAttempted((a) => new Set(a).add(field.name));
      if (i + 1 < fields.length) return setFocus(i + 1);
      const firstBad = fields.findIndex((f) => !check(f).ok);
      if (firstBad >= 0) return setFocus(firstBad);
      onSubmit({...values.current});
    } else if (action === 'prev') {
      if (i > 0) setFocus(i - 1);
    } else if (action === 'back') {
      if (i > 0) setFocus(i - 1);
      else onBack();
    }
  }, isActive);

  const labelWidth = Math.max(...fields.map((f) => textWidth(f.label)));
  const g = glyphs();
  const current = fields[focus];
  const currentValue = current ? (values.current[current.name] ?? '') : '';
  const result = current ? check(current) : OK;
  const shown = current !== undefined && (currentValue !== '' || attempted.has(current.name));
  const conceal = (text: string) => (current?.secret ? maskText(text, [currentValue]) : text);
  const indent = ' '.repeat(textWidth(g.pointer) + 1 + labelWidth + 1);

  return (
    <Box flexDirection="column" width={width}>
      {fields.map((field, i) => {
        const value = values.current[field.name] ?? '';
        const valid = i === focus ? (shown ? result.ok : undefined) : value !== '' || i < focus ? check(field).ok : undefined;
        return (
          <Box key={field.name} flexDirection="column">
            {field.choices ? (
              <ChoiceField
                label={field.label}
                labelWidth={labelWidth}
                value={value}
                choices={field.choices}
                width={width}
                focus={isActive && i === focus}
                onChange={(v) => change(field, v)}
              />
            ) : (
              <TextField
                label={field.label}
                labelWidth={labelWidth}
                value={value}
                width={width}
                focus={isActive && i === focus}
                secret={field.secret}
                placeholder={field.placeholder}
                valid={valid}
                onChange={(v) => change(field, v)}
              />
            )}
            {i === focus && shown && !result.ok ? (
              <>
                <Rows lead={`${indent}${g.failed} `} text={conceal(result.message)} width={width} toneName="error" />
                {result.fix ? <Rows lead={`${indent}fix: `} text={conceal(result.fix)} width={width} toneName="muted" /> : null}
              </>
            ) : i === focus && hintOf(field, value) ? (
              // Wrapped, never cut: a hint often names the path the wizard will use.
              <Rows lead={indent} text={hintOf(field, value)!} width={width} toneName="muted" />
            ) : null}
          </Box>
        );
      })}
    </Box>
  );
}

const hintOf = (field: FieldSpec, value: string) => (typeof field.hint === 'function' ? field.hint(value) : field.hint);

/** What is wrong, or the fix, in full: up to three rows (cut at the edge, it lost the command). */
function Rows({lead, text, width, toneName}: {lead: string; text: string; width: number; toneName: 'error' | 'muted'}) {
  return (
    <>
      {hangingRows(lead, text, width, 3).map((row, k) => (
        <Box key={k} height={1} width={width} overflow="hidden">
          <Text {...tone(toneName)}>{row}</Text>
        </Box>
      ))}
    </>
  );
}
