// Host checks as a list with a detail view (k9s-style): failures first, then warnings, then what
// passed; every check reachable by moving down (the list scrolls), and the highlighted one shown
// below in full: its finding, its fix as a whole command, and its evidence. Enter on a check opens
// it alone. Fixes that are safe to run (a modprobe, an apt-get install) are offered; nothing runs
// without Enter.
import {useEffect, useState} from 'react';
import {Box} from 'ink';
import type {Check} from '../../src/host/check-types.js';
import {Wrapped} from '../Wrapped.js';
import {Menu, type MenuItem} from '../Menu.js';
import type {ScreenProps} from '../screens.js';
import {CheckDetail, statusMark} from './CheckDetail.js';

const ORDER = {fail: 0, warn: 1, ok: 2} as const;
const CHECK = 'check:';

/** Failures first, then warnings, then passes; the host's own order within each. */
export function sortChecks(checks: readonly Check[]): Check[] {
  return checks.map((c, i) => ({c, i})).sort((a, b) => ORDER[a.c.status] - ORDER[b.c.status] || a.i - b.i).map(({c}) => c);
}

/** "2 checks failed and 1 gave a warning: ..." in plain English. */
export function checksSummary(checks: readonly Check[]): string {
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (!failed && !warned) return `The host looks ready: all ${checks.length} checks passed.`;
  const parts = [failed ? `${failed} check${failed === 1 ? '' : 's'} failed` : '', warned ? `${warned} ${failed ? '' : `check${warned === 1 ? '' : 's'} `}gave ${warned === 1 ? 'a warning' : 'warnings'}` : ''].filter(Boolean);
  return `${parts.join(' and ')}: they are listed first, and the one selected is shown in full below.`;
}

export function ChecksScreen({controller, go, size, setup}: ScreenProps & {setup: boolean}) {
  const [checks, setChecks] = useState<Check[]>();
  const [error, setError] = useState<string>();
  const [highlighted, setHighlighted] = useState<string>('next');
  const [open, setOpen] = useState<Check>();
  useEffect(() => {
    controller.hostChecks().then((list) => setChecks(sortChecks(list)), (e: Error) => setError(e.message));
  }, [controller]);

  const list = checks ?? [];
  const fixable = list.filter((c) => c.status !== 'ok' && c.fixArgv);
  const runFix = (c: Check) => go({name: 'run', title: `fix: ${c.fix}`, action: () => controller.runFix(c), back: {name: 'checks', setup}, next: {name: 'checks', setup}});

  if (open) {
    const items: MenuItem[] = [...(open.status !== 'ok' && open.fixArgv ? [{value: 'fix', label: `Run the fix: ${open.fix}`}] : []), {value: 'back', label: 'Back to the checks'}];
    return (
      <Box flexDirection="column" width={size.width} height={size.height}>
        <CheckDetail check={open} width={size.width} rows={Math.max(2, size.height - items.length - 1)} />
        <Box marginTop={1}>
          <Menu width={size.width} items={items} onBack={() => setOpen(undefined)} onSelect={(item) => (item.value === 'fix' ? runFix(open) : setOpen(undefined))} />
        </Box>
      </Box>
    );
  }

  const items: MenuItem[] = [
    {value: 'next', label: setup ? 'Continue to the guest era' : 'Back to the menu'},
    ...fixable.map((c) => ({value: `fix:${c.id}`, label: `Run the fix: ${c.fix}`})),
    ...(setup ? [{value: 'back', label: 'Back to the menu'}] : []),
    ...list.map((c) => ({value: `${CHECK}${c.id}`, label: `${statusMark(c.status)} ${c.title}`, description: c.status === 'ok' ? undefined : c.summary})),
  ];
  const summary = !checks ? (error ?? 'checking the host...') : checksSummary(list);
  const summaryRows = 2;
  const menuRows = Math.min(items.length, Math.max(4, Math.floor((size.height - summaryRows) / 2)));
  const detailRows = Math.max(0, size.height - summaryRows - menuRows - 1);
  // The check shown below: the one highlighted, the one a highlighted fix is for, else the first that is not ok.
  const id = highlighted.startsWith(CHECK) ? highlighted.slice(CHECK.length) : highlighted.startsWith('fix:') ? highlighted.slice(4) : undefined;
  const shown = list.find((c) => c.id === id) ?? list.find((c) => c.status !== 'ok');
  const failed = list.some((c) => c.status === 'fail');
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Box flexDirection="column" height={summaryRows}>
        <Wrapped text={summary} width={size.width} maxRows={summaryRows} toneName={failed ? 'warn' : 'muted'} />
      </Box>
      {checks ? (
        <Menu
          width={size.width}
          height={menuRows}
          items={items}
          initialValue={highlighted}
          onHighlight={(item) => setHighlighted(item.value)}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => {
            if (item.value === 'next') go(setup ? {name: 'era'} : {name: 'menu'});
            else if (item.value === 'back') go({name: 'menu'});
            else if (item.value.startsWith('fix:')) runFix(fixable.find((c) => `fix:${c.id}` === item.value)!);
            else setOpen(list.find((c) => `${CHECK}${c.id}` === item.value));
          }}
        />
      ) : null}
      <Box height={1} />
      {shown && detailRows > 1 ? <CheckDetail check={shown} width={size.width} rows={detailRows} /> : null}
    </Box>
  );
}
