// Host checks as a read-only checklist: status, finding and the fix for each.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Check} from '../src/host/check-types.js';
import {useKeymap} from './keymap.js';
import type {ScreenProps} from './screens.js';
import {Table} from './Table.js';
import {fit, glyphs, tone} from './theme.js';

export function ChecksScreen({controller, go, size, setup}: ScreenProps & {setup: boolean}) {
  const [checks, setChecks] = useState<Check[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    controller.hostChecks().then(setChecks, (e: Error) => setError(e.message));
  }, [controller]);

  useKeymap('menu', (action) => {
    if (action === 'back') go({name: 'menu'});
    else if (action === 'select' && checks) go(setup ? {name: 'volume'} : {name: 'menu'});
  });

  const g = glyphs();
  const mark = {ok: g.done, warn: g.warn, fail: g.failed};
  const rows = (checks ?? []).map((c) => ({status: `${mark[c.status]} ${c.status}`, check: c.title, finding: c.summary, fix: c.fix ?? ''}));
  const failed = (checks ?? []).filter((c) => c.status === 'fail').length;
  const footer = !checks
    ? error ?? 'checking the host...'
    : `${failed ? `${failed} check(s) failed: the fix column says what to run. ` : 'The host looks ready. '}Enter: ${setup ? 'continue to the cache volume' : 'back'} · Esc: back`;
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Table
        columns={[{key: 'status', title: 'status', minWidth: 6}, {key: 'check', title: 'check'}, {key: 'finding', title: 'finding'}, {key: 'fix', title: 'fix'}]}
        rows={rows}
        width={size.width}
        height={size.height - 1}
        rowTone={(row: Record<string, string>) => (row.status?.includes('fail') ? 'error' : row.status?.includes('warn') ? 'warn' : undefined)}
      />
      <Text {...tone(failed ? 'warn' : 'muted')}>{fit(footer, size.width)}</Text>
    </Box>
  );
}
