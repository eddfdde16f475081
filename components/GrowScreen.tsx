// Grow a volume: the file, the new size, a summary, then qemu-img resize, e2fsck and resize2fs.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Inspection} from '../src/volume/inspect.js';
import {formatBytes, parseSize} from '../src/volume/size.js';
import {resolvedHint, resolvePath, validateExistingVolume, validateGrowSize} from '../src/wizard/validators.js';
import {Form} from './Form.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {fit, tone} from './theme.js';
import {isDamaged} from '../src/volume/verdict.js';

interface Plan {
  found: Inspection;
  newSize: number;
  problem?: string;
}

export function plan(found: Inspection, sizeText: string): Plan {
  const current = found.virtualSize ?? 0;
  const amount = parseSize(sizeText.replace(/^\+/, ''));
  const newSize = sizeText.startsWith('+') ? current + amount : amount;
  let problem: string | undefined;
  if (found.inUse) problem = `it is in use (${found.inUseDetail}): stop the VM first`;
  else if (found.filesystem === 'crypto_LUKS') problem = 'it is LUKS-encrypted: the guest owns it';
  else if (isDamaged(found)) problem = `${found.reason.split(':')[0]}: repair it first`;
  else if (!['ext4', 'ext3', 'ext2'].includes(found.filesystem ?? '')) problem = `it holds ${found.filesystem ?? 'nothing readable'}, not ext4`;
  else if (newSize < current) problem = `that is smaller than ${formatBytes(current)}: shrinking is refused (it needs the filesystem shrunk first, and a mistake loses data)`;
  else if (newSize === current) problem = `it is already ${formatBytes(current)}`;
  return {found, newSize, problem};
}

export function GrowScreen({controller, go, size, setEditing, path: given}: ScreenProps & {path?: string}) {
  const [p, setPlan] = useState<Plan>();
  useEffect(() => {
    setEditing(!p);
    return () => setEditing(false);
  }, [p, setEditing]);

  if (!p) {
    return (
      <Box flexDirection="column" width={size.width}>
        <Text {...tone('muted')}>{fit('Grows the image, checks the filesystem (e2fsck -f), then grows it (resize2fs). Never shrinks.', size.width)}</Text>
        <Form
          width={size.width}
          fields={[
            {name: 'path', label: 'Volume file', initial: given ?? controller.settings.get('volumePath') ?? '', validate: validateExistingVolume, hint: resolvedHint()},
            {name: 'size', label: 'New size', initial: '+1000G', validate: validateGrowSize, hint: 'a new size (6000G) or the growth (+1000G)'},
          ]}
          onSubmit={(v) => void controller.inspect(resolvePath(v.path!)).then((found) => setPlan(plan(found, v.size!)))}
          onBack={() => go({name: 'menu'})}
        />
      </Box>
    );
  }
  const {found, newSize, problem} = p;
  return (
    <Box flexDirection="column" width={size.width}>
      <Text>{fit(`${found.path}: ${formatBytes(found.virtualSize ?? 0)} -> ${formatBytes(newSize)}, ${found.filesystem ?? '?'} labelled "${found.label ?? ''}"`, size.width)}</Text>
      {problem ? <Text {...tone('warn')}>{fit(`Cannot grow: ${problem}.`, size.width)}</Text> : <Text {...tone('muted')}>{fit('Data is kept. The image is checked with qemu-img check afterwards.', size.width)}</Text>}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={[
            ...(isDamaged(found) ? [{value: 'repair', label: 'Repair it first (qemu-img check, e2fsck -f -y)'}] : []),
            {value: 'go', label: `Grow to ${formatBytes(newSize)}`, disabled: Boolean(problem)},
            {value: 'back', label: 'Back'},
          ]}
          initialValue={isDamaged(found) ? 'repair' : problem ? 'back' : 'go'}
          onBack={() => setPlan(undefined)}
          onSelect={(item) =>
            item.value === 'back'
              ? setPlan(undefined)
              : item.value === 'repair'
                ? go({name: 'repair', path: found.path})
                : go({name: 'run', title: `grow ${found.path.split('/').pop()}`, changesDisk: true, action: () => controller.grow(found.path, newSize), back: {name: 'menu'}})
          }
        />
      </Box>
    </Box>
  );
}
