// First-time setup: which upstream era the guest belongs to. Offered first: the era read from the
// remembered launcher's files (with the line that gave it away), else the one chosen last time,
// else E4, the February 2026 document's. The era decides which volumes the next screen prepares.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {ERAS, volumeSummary, type Era} from '../../src/era/eras.js';
import type {EraChoice} from '../../src/wizard/set.js';
import {Menu} from '../Menu.js';
import type {ScreenProps} from '../screens.js';
import {fit, tone} from '../theme.js';
import {Wrapped, wrappedRows} from '../Wrapped.js';

export function offerText(offer: EraChoice): string {
  if (offer.source === 'launcher') return `Detected ${offer.era.id} from the launcher: ${offer.evidence}`;
  if (offer.source === 'remembered') return `${offer.era.id} was chosen last time (no remembered launcher tells the era).`;
  return `No launcher is known yet: ${offer.era.id}, the era of the February 2026 document, is the default.`;
}

function details(era: Era): string[] {
  return [`${era.id}: ${era.title}, launcher ${era.launcherFile}.`, `Volumes: ${era.volumes.map(volumeSummary).join('; ')}.`];
}

export interface EraPickerProps {
  offer: EraChoice;
  width: number;
  height: number;
  onPick: (era: Era) => void;
  onBack: () => void;
}

/** The list of eras and, under it, the highlighted one's title and volumes in full. */
export function EraPicker({offer, width, height, onPick, onBack}: EraPickerProps) {
  const [shown, setShown] = useState<Era>(offer.era);
  const launcherWidth = Math.max(...ERAS.map((e) => e.launcherFile.length));
  const top = wrappedRows(offerText(offer), width, 3);
  const below = details(shown).flatMap((text) => wrappedRows(text, width, 4, ''));
  const menuHeight = Math.max(3, height - top.length - below.length - 1);
  const tag = (era: Era) => (era.id === offer.era.id ? (offer.source === 'launcher' ? 'detected' : offer.source === 'remembered' ? 'chosen last time' : 'default') : '');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Wrapped text={offerText(offer)} width={width} maxRows={3} toneName={offer.source === 'launcher' ? 'info' : 'muted'} />
      <Menu
        width={width}
        height={menuHeight}
        items={ERAS.map((e) => ({value: e.id, label: `${e.id.padEnd(4)} ${e.launcherFile.padEnd(launcherWidth)}`, description: [e.volumes.map((v) => v.role).join(', '), tag(e)].filter(Boolean).join(' · ')}))}
        initialValue={offer.era.id}
        onHighlight={(item) => setShown(ERAS.find((e) => e.id === item.value)!)}
        onSelect={(item) => onPick(ERAS.find((e) => e.id === item.value)!)}
        onBack={onBack}
      />
      <Box height={1} />
      {below.map((row, k) => (
        <Box key={k} height={1} width={width} overflow="hidden">
          <Text {...tone(k === 0 ? undefined : 'muted')}>{row}</Text>
        </Box>
      ))}
    </Box>
  );
}

export function EraScreen({controller, go, size}: ScreenProps) {
  const [offer, setOffer] = useState<EraChoice>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    controller.offeredEra().then(setOffer, (e: Error) => setError(e.message));
  }, [controller]);
  if (!offer) return <Text {...tone(error ? 'error' : 'muted')}>{fit(error ?? 'reading the launcher...', size.width)}</Text>;
  return (
    <EraPicker
      offer={offer}
      width={size.width}
      height={size.height}
      onBack={() => go({name: 'checks', setup: true})}
      onPick={(era) => void controller.chooseEra(era.id).then(() => go({name: 'set'}), (e: Error) => setError(e.message))}
    />
  );
}
