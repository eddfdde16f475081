// Host checks as a read-only checklist: status, finding and the fix for each. Fixes that are
// safe to run (a modprobe, an apt-get install, a chmod) are offered; nothing runs without Enter.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Check} from '../src/host/check-types.js';
import {Menu, type MenuItem} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {Table} from './Table.js';
import {fit, glyphs, tone} from './theme.js';

export function ChecksScreen({controller, go, size, setup}: ScreenProps & {setup: boolean}) {
  const [checks, setChecks] = useState<Check[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    controller.hostChecks().then(setChecks, (e: Error) => setError(e.message));
  }, [controller]);

  const g = glyphs();
  const mark = {ok: g.done, warn: g.warn, fail: g.failed};
  const list = checks ?? [];
  const rows = list.map((c) => ({status: `${mark[c.status]} ${c.status}`, check: c.title, finding: c.summary, fix: c.fix ?? ''}));
  const failed = list.filter((c) => c.status === 'fail').length;
  const fixable = list.filter((c) => c.status !== 'ok' && c.fixArgv);
  const items: MenuItem[] = [
    {value: 'next', label: setup ? 'Continue to the guest era' : 'Back to the menu'},
    ...fixable.map((c) => ({value: c.id, label: `Run the fix: ${c.fix}`})),
    ...(setup ? [{value: 'back', label: 'Back to the menu'}] : []),
  ];
  const summary = !checks ? (error ?? 'checking the host...') : failed ? `${failed} check(s) failed: the fix column says what to run.` : 'The host looks ready.';
  const tableHeight = Math.max(3, size.height - items.length - 2);
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Table
        columns={[{key: 'status', title: 'status', minWidth: 6}, {key: 'check', title: 'check'}, {key: 'finding', title: 'finding'}, {key: 'fix', title: 'fix'}]}
        rows={rows}
        width={size.width}
        height={tableHeight}
        rowTone={(row) => (row.status?.includes('fail') ? 'error' : row.status?.includes('warn') ? 'warn' : undefined)}
      />
      <Text {...tone(failed ? 'warn' : 'muted')}>{fit(summary, size.width)}</Text>
      {checks ? (
        <Menu
          width={size.width}
          items={items}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => {
            if (item.value === 'next') go(setup ? {name: 'era'} : {name: 'menu'});
            else if (item.value === 'back') go({name: 'menu'});
            else {
              const c = fixable.find((x) => x.id === item.value)!;
              go({name: 'run', title: `fix: ${c.fix}`, action: () => controller.runFix(c), back: {name: 'checks', setup}, next: {name: 'checks', setup}});
            }
          }}
        />
      ) : null}
    </Box>
  );
}
