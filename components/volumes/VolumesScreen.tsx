// Every volume the wizard can find on this host, as a list with a detail view: the ones a guest
// would refuse first, the selected one in full below (role, VM, the eras that take it, the verdict
// with its reason and fix, clear or encrypted, sizes, holder), and a warning per host filesystem
// whose free space its thin volumes could outgrow. Enter on a volume with a wrong label opens the
// relabel screen with it filled in, on a damaged one (fs-errors, corrupt-image) the repair screen;
// nothing here changes anything by itself.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Entry, Inventory} from '../../src/inventory/inventory.js';
import {formatBytes} from '../../src/volume/size.js';
import {isDamaged} from '../../src/volume/verdict.js';
import {Menu, type MenuItem} from '../Menu.js';
import type {ScreenProps} from '../screens.js';
import {fit, glyphs, hangingRows, tone} from '../theme.js';
import {Wrapped} from '../Wrapped.js';

/** A guest would refuse it: listed first. */
const refused = (e: Entry) => !e.inspection.accepted;

export function volumeRows(e: Entry, width: number): string[] {
  const i = e.inspection;
  const lines = [
    `${e.role ?? 'no role'}${e.label !== undefined ? `, label "${e.label}"` : ''}${e.vm ? `, VM ${e.vm}` : ''}; taken by the guests of ${e.fits.join(', ') || 'no era'}`,
    `${i.verdict} for ${e.judgedFor}: ${i.reason}`,
    ...(i.fix ? [`fix: ${i.fix}`] : []),
    `${e.encrypted ? 'encrypted (LUKS2): its content is the guest\'s' : `clear ${i.filesystem ?? ''}`.trim()}, ${i.format ?? '?'}, ${i.virtualSize !== undefined ? `${formatBytes(i.virtualSize)} (${formatBytes(i.allocatedSize ?? 0)} on disk)` : 'size unknown'}`,
    `${i.inUseDetail ?? 'not in use'}; changed ${e.changed?.slice(0, 16).replace('T', ' ') ?? '?'}; found in ${e.foundBy.join(', ')}`,
  ];
  return lines.flatMap((line) => hangingRows('', line, width, 4));
}

export function VolumesScreen({controller, go, size}: ScreenProps) {
  const [inv, setInv] = useState<Inventory>();
  const [error, setError] = useState<string>();
  const [highlighted, setHighlighted] = useState<string>();
  useEffect(() => {
    controller.volumes().then(setInv, (e: Error) => setError(e.message));
  }, [controller]);

  if (!inv) return <Text {...tone(error ? 'error' : 'muted')}>{fit(error ?? 'looking for volumes...', size.width)}</Text>;
  const g = glyphs();
  const entries = [...inv.entries].sort((a, b) => Number(refused(b)) - Number(refused(a)));
  const warnings = inv.capacity.filter((c) => c.warning).map((c) => c.warning!);
  const summary = entries.length
    ? `${entries.length} volume${entries.length === 1 ? '' : 's'}, ${entries.filter(refused).length} a guest would refuse; looked in ${inv.looked.join(', ') || 'what QEMU has open'}.`
    : `No volumes found; looked in ${inv.looked.join(', ') || 'nothing remembered yet'} (first-time setup remembers where it puts them).`;
  const items: MenuItem[] = [
    {value: 'back', label: 'Back to the menu'},
    ...entries.map((e) => ({value: e.path, label: `${e.inspection.accepted ? g.done : g.failed} ${e.path}`, description: `${e.inspection.verdict} (${e.judgedFor})`})),
  ];
  const shown = entries.find((e) => e.path === highlighted) ?? entries.find(refused) ?? entries[0];
  const top = [summary, ...warnings];
  const topRows = top.flatMap((t) => hangingRows('', t, size.width, 4)).length;
  const menuRows = Math.min(items.length, Math.max(3, Math.floor((size.height - topRows) / 2)));
  const detail = shown ? volumeRows(shown, size.width).slice(0, Math.max(0, size.height - topRows - menuRows - 1)) : [];
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Wrapped text={summary} width={size.width} maxRows={4} toneName="muted" />
      {warnings.map((w, k) => (
        <Wrapped key={k} text={w} width={size.width} maxRows={4} toneName="warn" />
      ))}
      <Menu
        width={size.width}
        height={menuRows}
        items={items}
        onHighlight={(item) => setHighlighted(item.value)}
        onBack={() => go({name: 'menu'})}
        onSelect={(item) => {
          const entry = entries.find((e) => e.path === item.value);
          if (!entry) return go({name: 'menu'});
          if (entry.inspection.verdict === 'wrong-label') go({name: 'relabel', path: entry.path});
          else if (isDamaged(entry.inspection) && !entry.inspection.inUse) go({name: 'repair', path: entry.path});
        }}
      />
      <Box height={1} />
      {detail.map((row, k) => (
        <Box key={k} height={1} width={size.width} overflow="hidden">
          <Text {...tone(k === 1 && shown && !shown.inspection.accepted ? 'error' : k === 0 ? undefined : 'muted')}>{row}</Text>
        </Box>
      ))}
    </Box>
  );
}
