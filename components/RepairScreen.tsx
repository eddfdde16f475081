// Repair a damaged volume: pick it (or arrive with it filled in from a screen that found it
// damaged), see its verdict, then type its file name back, because e2fsck -y and xfs_repair may
// drop files they cannot repair. The work is the controller's (the same flow as `tdx-wizard repair`).
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {Inspection} from '../src/volume/inspect.js';
import {refuseRepair, repairLoss} from '../flows/repair.js';
import {resolvedHint, resolvePath, validateExistingVolume} from '../src/wizard/validators.js';
import {Form} from './Form.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {TypedConfirm} from './TypedConfirm.js';
import {fit, tone} from './theme.js';

/** Why repair would refuse this volume, in the words the CLI uses; undefined when it may go ahead. */
export function repairRefusal(found: Inspection): string | undefined {
  try {
    refuseRepair(found);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export function RepairScreen({controller, go, size, setEditing, path: given}: ScreenProps & {path?: string}) {
  const [found, setFound] = useState<Inspection>();
  const [confirming, setConfirming] = useState(false);
  // Opened with a volume filled in (from a screen that found it damaged): inspect it straight away.
  useEffect(() => {
    if (given) void controller.inspect(resolvePath(given)).then(setFound);
  }, [controller, given]);
  useEffect(() => {
    setEditing(!found || confirming);
    return () => setEditing(false);
  }, [found, confirming, setEditing]);

  if (!found) {
    if (given) return <Text>{fit(`reading ${given}...`, size.width)}</Text>;
    return (
      <Box flexDirection="column" width={size.width}>
        <Text {...tone('muted')}>{fit('Repairs the qcow2 metadata if qemu marked it corrupt, then the filesystem (e2fsck -f -y for ext4, xfs_repair for XFS).', size.width)}</Text>
        <Form
          width={size.width}
          fields={[{name: 'path', label: 'Volume file', initial: controller.settings.get('volumePath') ?? '', validate: validateExistingVolume, hint: resolvedHint()}]}
          onSubmit={(v) => void controller.inspect(resolvePath(v.path!)).then(setFound)}
          onBack={() => go({name: 'menu'})}
        />
      </Box>
    );
  }
  const name = found.path.split('/').pop()!;
  if (confirming) {
    return (
      <TypedConfirm
        width={size.width}
        title={`Repair ${found.path}`}
        lines={[...repairLoss(found), 'The image is checked with qemu-img check afterwards and the volume verified again.']}
        expected={name}
        onCancel={() => setConfirming(false)}
        onConfirm={() => go({name: 'run', title: `repair ${name}`, changesDisk: true, action: () => controller.repair(found.path), back: {name: 'menu'}})}
      />
    );
  }
  const refused = repairRefusal(found);
  return (
    <Box flexDirection="column" width={size.width}>
      <Text>{fit(`${found.path}: ${found.filesystem ?? '?'} labelled "${found.label ?? ''}"; verdict ${found.verdict}`, size.width)}</Text>
      <Text {...tone('muted')}>{fit(found.reason, size.width)}</Text>
      {refused ? <Text {...tone('warn')}>{fit(`Cannot repair: ${refused}.`, size.width)}</Text> : null}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={[
            {value: 'go', label: `Repair ${name} (asks for its name)`, disabled: Boolean(refused), destructive: true},
            {value: 'back', label: 'Back'},
          ]}
          initialValue={refused ? 'back' : 'go'}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => (item.value === 'back' ? go({name: 'menu'}) : setConfirming(true))}
        />
      </Box>
    </Box>
  );
}
