// The main menu: every flow is one Enter away. Selecting never acts by itself: each item opens
// its screen, and anything destructive there asks for a typed confirmation.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {serialLog} from '../src/paths.js';
import {Menu, type MenuItem} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {fit, tone} from './theme.js';

type Choice = 'setup' | 'nbd' | 'relabel' | 'grow' | 'vm' | 'log' | 'checks' | 'volumes' | 'repair' | 'trusted' | 'quit';

const ITEMS: MenuItem<Choice>[] = [
  {value: 'setup', label: 'First-time setup', description: 'host checks, guest era, volume set, launch, watch the boot'},
  {value: 'nbd', label: 'Troubleshoot NBD devices', description: 'busy or stale /dev/nbdN: see who holds them, detach'},
  {value: 'relabel', label: 'Repair a volume label', description: 'the cache volume as "tdx-cache" (ext4, XFS, LUKS2); data kept'},
  {value: 'grow', label: 'Grow a volume', description: 'ext4: qemu-img resize, e2fsck, resize2fs; data kept'},
  {value: 'vm', label: 'Launch / status / stop the VM', description: "through the era's upstream launcher (chutes-cvm, run-td, run-tdx.sh...)"},
  {value: 'log', label: 'Tail the serial log', description: `${serialLog()} with hints`}, // the log it will open
  {value: 'checks', label: 'Host checks', description: 'root, tools, nbd, kvm, TDX, free space'},
  {value: 'volumes', label: 'Volumes on this host', description: 'every volume found: role, VM, verdict, who holds it, room to grow'},
  {value: 'repair', label: 'Repair a damaged volume', description: 'qemu-img check -r all, e2fsck -f -y or xfs_repair; asks for the name'},
  {value: 'trusted', label: 'Trusted storage for confidential containers', description: 'a host block device at /dev/trusted_store for a Kata pod, and its Kubernetes objects'},
  {value: 'quit', label: 'Quit'},
];

export function MainMenu({controller, go, size, quit}: ScreenProps) {
  const [leftover, setLeftover] = useState<string>();
  useEffect(() => {
    // An earlier run that was killed may have left a device attached: say so, touch nothing.
    controller
      .leftovers()
      .then((items) => {
        const left = items.filter((i) => i.finding !== 'gone');
        if (left.length) setLeftover(`An earlier run left ${left.map((i) => `/dev/${i.device}`).join(', ')} behind: open "Troubleshoot NBD devices".`);
      })
      .catch(() => undefined);
  }, [controller]);

  const choose = (item: MenuItem<Choice>) => {
    const value = item.value;
    if (value === 'quit') quit();
    else if (value === 'setup') go({name: 'checks', setup: true});
    else go({name: value} as never);
  };
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Text {...tone('muted')}>{fit('From a bare TDX host to a running miner VM. Enter opens a screen; nothing runs until you confirm.', size.width)}</Text>
      {leftover ? <Text {...tone('warn')}>{fit(leftover, size.width)}</Text> : null}
      <Box marginTop={1}>
        <Menu items={ITEMS} onSelect={choose} width={size.width} height={size.height - 3} />
      </Box>
    </Box>
  );
}
