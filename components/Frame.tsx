// The screen: a title row, the body, a messages row (two for a long message) and the help bar.
// The frame is always at most rows - 1 tall (Ink clears the whole screen on every frame once a
// frame reaches the terminal's height), every region is clipped to its size, and the body is
// handed its exact size.
// From 80 columns a side pane (the step list) sits left of the body; narrower, it collapses to
// `compactSide`, a single row above the body.
import type {ReactNode} from 'react';
import {Box, Text} from 'ink';
import type {Message} from '../src/store.js';
import {HelpBar} from './HelpBar.js';
import type {Action, Scope} from './keymap.js';
import {emphasis, fit, glyphs, hangingRows, tone, themeMode} from './theme.js';

export interface FrameSize {
  width: number;
  height: number;
}

export interface FrameProps {
  title: string;
  columns: number;
  rows: number;
  scopes: Scope | readonly Scope[];
  /** Actions the help bar leaves out for now. */
  hidden?: readonly Action[];
  messages?: readonly Message[];
  side?: (size: FrameSize) => ReactNode;
  /** Side pane width from 80 columns (default: a third of the width, at most 34). */
  sideWidth?: number;
  /** One row standing in for the side pane under 80 columns. */
  compactSide?: (width: number) => ReactNode;
  children: (size: FrameSize) => ReactNode;
}

export const NARROW_BELOW = 80;

export interface FrameLayout {
  title: boolean;
  help: boolean;
  /** Rows for the last message: 1, or 2 for one that does not fit on one (when there is room). */
  message: number;
  compact: boolean;
  side?: FrameSize;
  body: FrameSize;
  /** Rows the frame takes in all: always < rows (0 when rows < 2). */
  total: number;
}

export function frameLayout(columns: number, rows: number, opts: {side?: boolean; compactSide?: boolean; sideWidth?: number; messageRows?: number} = {}): FrameLayout {
  let budget = Math.max(0, rows - 1);
  const take = () => (budget > 1 ? (budget--, true) : false);
  const title = take();
  const help = take();
  const message = take() ? 1 : 0;
  const narrow = columns < NARROW_BELOW;
  const compact = narrow && Boolean(opts.compactSide) && take();
  // A second row for a long message, only where the body keeps at least 6.
  const messageRows = message && (opts.messageRows ?? 1) > 1 && budget > 6 && take() ? 2 : message;
  const width = Math.max(1, columns);
  const sideWidth = Math.min(opts.sideWidth ?? Math.min(34, Math.floor(width / 3)), width - 20);
  const side = !narrow && opts.side && sideWidth > 0 ? {width: sideWidth, height: budget} : undefined;
  const body = {width: side ? width - side.width - 1 : width, height: budget};
  const total = Number(title) + Number(help) + messageRows + Number(compact) + budget;
  return {title, help, message: messageRows, compact, side, body, total};
}

export function Frame({title, columns, rows, scopes, hidden, messages = [], side, sideWidth, compactSide, children}: FrameProps) {
  const width = Math.max(1, columns);
  const last = messages.at(-1);
  const g = glyphs();
  const glyph = last ? {info: g.info, warn: g.warn, error: g.failed}[last.level] : '';
  // A warning cut at the edge can lose what matters ("...the VM fails with I/O errors"): two rows.
  const lead = `${glyph} `;
  const messageRows = last ? hangingRows(lead, last.text, width, 2) : [];
  const layout = frameLayout(columns, rows, {side: Boolean(side), compactSide: Boolean(compactSide), sideWidth, messageRows: messageRows.length});
  if (layout.total === 0) return null;
  return (
    // Clipped vertically only: every row below is built to the width, and a horizontal clip makes
    // Ink slice every line of every frame (a log pane under a flood draws 5 frames a second).
    <Box flexDirection="column" width={width} height={layout.total} overflowY="hidden">
      {layout.title ? (
        <Box height={1} width={width} overflow="hidden">
          <Text {...tone('accent')} {...emphasis('bold')}>{fit(title, width)}</Text>
        </Box>
      ) : null}
      {layout.compact && compactSide ? (
        <Box height={1} width={width} overflow="hidden">
          {compactSide(width)}
        </Box>
      ) : null}
      <Box height={layout.body.height} width={width} overflowY="hidden" flexDirection="row">
        {layout.side && side ? (
          <Box width={layout.side.width + 1} height={layout.body.height} overflow="hidden" borderStyle={themeMode().ascii ? 'classic' : 'single'}
            borderTop={false} borderBottom={false} borderLeft={false} {...(themeMode().color ? {borderDimColor: true} : {})}>
            <Box width={layout.side.width} height={layout.body.height} overflow="hidden" flexDirection="column">
              {side(layout.side)}
            </Box>
          </Box>
        ) : null}
        <Box width={layout.body.width} height={layout.body.height} overflowY="hidden" flexDirection="column">
          {children(layout.body)}
        </Box>
      </Box>
      {layout.message ? (
        <Box height={layout.message} width={width} overflow="hidden" flexDirection="column">
          {!last ? (
            <Text> </Text>
          ) : layout.message === 1 ? (
            <Text {...tone(last.level)}>{fit(`${lead}${last.text}`, width)}</Text>
          ) : (
            messageRows.map((row, k) => (
              <Text key={k} {...tone(last.level)}>{row}</Text>
            ))
          )}
        </Box>
      ) : null}
      {layout.help ? <HelpBar scopes={scopes} width={width} hidden={hidden} /> : null}
    </Box>
  );
}
