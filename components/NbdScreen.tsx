// The busy-NBD troubleshooting screen: every /dev/nbdN, who holds it and what it serves, and the
// actions. Detaching asks for the device name typed back.
import {useCallback, useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import type {NbdDevice} from '../src/nbd/index.js';
import {formatBytes} from '../src/volume/size.js';
import {Menu, type MenuItem} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {Table} from './Table.js';
import {TypedConfirm} from './TypedConfirm.js';
import {fit, tone} from './theme.js';

export function deviceRow(d: NbdDevice): Record<string, string> {
  const held = [...d.mounts.map((m) => `mounted on ${m.target}`), ...d.holders.map((h) => `held by ${h}`)].join(', ');
  return {device: d.name, state: d.state, pid: d.pid ? String(d.pid) : '', image: d.image ?? '', size: d.sizeBytes ? formatBytes(d.sizeBytes) : '', why: held || d.reason};
}

export function NbdScreen({controller, go, size, setEditing}: ScreenProps) {
  const [devices, setDevices] = useState<NbdDevice[]>();
  const [confirm, setConfirm] = useState<NbdDevice>();
  const refresh = useCallback(() => void controller.nbdDevices().then(setDevices, () => setDevices([])), [controller]);
  useEffect(refresh, [refresh]);
  useEffect(() => {
    setEditing(Boolean(confirm));
    return () => setEditing(false);
  }, [confirm, setEditing]);

  if (confirm) {
    return (
      <TypedConfirm
        width={size.width}
        title={`Detach ${confirm.path}`}
        lines={[
          `It serves ${confirm.image ?? 'an unknown image'} (${confirm.state}).`,
          'Anything still using the device loses access; the wizard refuses while it is mounted or held.',
          'It flushes first and never kills qemu-nbd hard, so acknowledged writes are kept.',
        ]}
        expected={confirm.path}
        onCancel={() => setConfirm(undefined)}
        onConfirm={() => go({name: 'run', title: `detach ${confirm.path}`, changesDisk: true, action: () => controller.detach(confirm.name), back: {name: 'nbd'}})}
      />
    );
  }
  const list = devices ?? [];
  const actions: MenuItem[] = [
    ...list.filter((d) => d.state !== 'free').map((d) => ({value: d.name, label: `Detach ${d.path} (${d.state})`, destructive: true})),
    {value: 'load', label: 'Load the nbd module (modprobe nbd max_part=8)', disabled: list.length > 0},
    {value: 'refresh', label: 'Refresh'},
    {value: 'back', label: 'Back'},
  ];
  const tableHeight = Math.max(3, Math.min(list.length + 1, size.height - actions.length - 2));
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      {devices === undefined ? (
        <Text>reading /sys/block...</Text>
      ) : list.length ? (
        <Table
          columns={[{key: 'device', title: 'device'}, {key: 'state', title: 'state'}, {key: 'pid', title: 'pid'}, {key: 'image', title: 'image'}, {key: 'size', title: 'size'}, {key: 'why', title: 'why'}]}
          rows={list.map(deviceRow)}
          width={size.width}
          height={tableHeight}
          rowTone={(row) => (row.state === 'stale' || row.state === 'stuck' ? 'error' : row.state === 'connected' ? 'warn' : undefined)}
        />
      ) : (
        <Text {...tone('warn')}>{fit('No /dev/nbdN devices: the nbd module is not loaded.', size.width)}</Text>
      )}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={actions}
          onBack={() => go({name: 'menu'})}
          onSelect={(item) => {
            if (item.value === 'back') go({name: 'menu'});
            else if (item.value === 'refresh') refresh();
            else if (item.value === 'load') go({name: 'run', title: 'load nbd', action: () => controller.loadNbd(), back: {name: 'nbd'}});
            else setConfirm(list.find((d) => d.name === item.value));
          }}
        />
      </Box>
    </Box>
  );
}
