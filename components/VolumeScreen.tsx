// First-time setup, step 2: where the cache volume goes and how large it is. An existing volume
// is checked and reused when the guest will accept it; a new one is created and verified.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {hostname} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {existsSync} from 'node:fs';
import {freeBytes} from '../src/volume/space.js';
import {formatBytes} from '../src/volume/size.js';
import {validateSize, validateVolumePath} from '../src/wizard/validators.js';
import {Form} from './Form.js';
import type {ScreenProps} from './screens.js';
import {fit, tone} from './theme.js';

export function defaultVolumePath(launcher: string | undefined): string {
  return join(launcher ? dirname(launcher) : process.cwd(), `cache-${hostname()}.qcow2`);
}

export function VolumeScreen({controller, go, size, setEditing}: ScreenProps) {
  const settings = controller.settings;
  const [free, setFree] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const initialPath = settings.get('volumePath') ?? defaultVolumePath(settings.get('launcherPath'));
  useEffect(() => {
    setEditing(true);
    freeBytes(dirname(initialPath)).then((b) => setFree(b === undefined ? undefined : formatBytes(b)), () => undefined);
    return () => setEditing(false);
  }, [initialPath, setEditing]);

  const submit = async (values: Record<string, string>) => {
    const path = resolve(values.path!);
    if (existsSync(path)) {
      const found = await controller.inspect(path);
      if (!found.accepted) {
        setProblem(`${path} exists and the guest would not accept it: ${found.reason}${found.fix ? ` (fix: ${found.fix})` : ''}`);
        return;
      }
      settings.set('volumePath', path);
      go({name: 'launch', setup: true});
      return;
    }
    go({
      name: 'run',
      title: `create ${path.split('/').pop()}`,
      changesDisk: true,
      action: () => controller.createVolume({path, size: values.size!, createParent: true}),
      next: {name: 'launch', setup: true},
      back: {name: 'volume'},
    });
  };

  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Text {...tone('muted')}>{fit('The VM powers itself off at boot without an ext4 volume labelled tdx-cache. An existing file is checked and reused.', size.width)}</Text>
      <Form
        width={size.width}
        fields={[
          {name: 'path', label: 'Volume file', initial: initialPath, validate: validateVolumePath, hint: 'a new .qcow2 file, or an existing volume to reuse'},
          {name: 'size', label: 'Size', initial: settings.get('volumeSize') ?? '5000G', validate: validateSize, hint: `5000G, 5T... (thin: it starts at ~62 MiB)${free ? `; ${free} free there` : ''}`},
        ]}
        onSubmit={(values) => void submit(values)}
        onBack={() => go({name: 'checks', setup: true})}
      />
      {problem ? <Text {...tone('error')}>{fit(problem, size.width)}</Text> : null}
    </Box>
  );
}
