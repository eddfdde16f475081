// Repair a label: pick the volume, see what it holds, confirm, and relabel it (data kept).
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Inspection} from '../src/volume/inspect.js';
import {CACHE_LABEL, labelWriter} from '../src/volume/label.js';
import {resolvedHint, resolvePath, validateExistingVolume} from '../src/wizard/validators.js';
import {Form} from './Form.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {fit, tone} from './theme.js';
import {isDamaged} from '../src/volume/verdict.js';

export function RelabelScreen({controller, go, size, setEditing, path: given}: ScreenProps & {path?: string}) {
  const [found, setFound] = useState<Inspection>();
  useEffect(() => {
    setEditing(!found);
    return () => setEditing(false);
  }, [found, setEditing]);

  if (!found) {
    return (
      <Box flexDirection="column" width={size.width}>
        <Text {...tone('muted')}>{fit('Writes the label its role looks for (e2label, xfs_admin, cryptsetup); data kept.', size.width)}</Text>
        <Form
          width={size.width}
          fields={[{name: 'path', label: 'Volume file', initial: given ?? controller.settings.get('volumePath') ?? '', validate: validateExistingVolume, hint: resolvedHint()}]}
          onSubmit={(v) => void controller.inspect(resolvePath(v.path!)).then(setFound)}
          onBack={() => go({name: 'menu'})}
        />
      </Box>
    );
  }
  const want = found.expectedLabel;
  const canRelabel = labelWriter(found.filesystem) !== undefined && found.label !== want && !found.inUse;
  const why = found.inUse ? `it is in use (${found.inUseDetail}): stop the VM first` : found.label === want ? `it is already labelled ${want}` : `it holds ${found.filesystem ?? 'nothing readable'}`;
  return (
    <Box flexDirection="column" width={size.width}>
      <Text>{fit(`${found.path}: ${found.filesystem ?? '?'} labelled "${found.label ?? ''}"; verdict ${found.verdict}`, size.width)}</Text>
      <Text {...tone('muted')}>{fit(found.reason, size.width)}</Text>
      {canRelabel ? null : <Text {...tone('warn')}>{fit(`Nothing to do here: ${why}.`, size.width)}</Text>}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={[
            ...(isDamaged(found) ? [{value: 'repair', label: `Repair it first (${found.verdict === 'corrupt-image' ? 'qemu-img check -r all, then ' : ''}e2fsck -f -y or xfs_repair)`}] : []),
            {value: 'go', label: `Relabel the ${found.role} volume as "${want}"`, disabled: !canRelabel},
            {value: 'back', label: 'Back'},
          ]}
          initialValue={isDamaged(found) ? 'repair' : canRelabel ? 'go' : 'back'}
          onBack={() => setFound(undefined)}
          onSelect={(item) =>
            item.value === 'back'
              ? go({name: 'menu'})
              : item.value === 'repair'
                ? go({name: 'repair', path: found.path})
                : go({name: 'run', title: `relabel ${found.path.split('/').pop()}`, changesDisk: true, action: () => controller.relabel(found.path), back: {name: 'menu'}})
          }
        />
      </Box>
    </Box>
  );
}
