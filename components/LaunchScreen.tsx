// Launch parameters in two short forms (who the miner is, then the network), then a review of the
// exact launcher command with the seed masked. The seed lives only in this screen's memory.
import {useEffect, useRef, useState} from 'react';
import {Box, Text} from 'ink';
import {resolve} from 'node:path';
import {maskText, shellLine} from '../src/runner/mask.js';
import {checkLaunchFields, validateCacheVolume, validateHostname, validateMinerSeed, validateMinerSs58, validateNetworkType, type FieldResult, type LaunchFields} from '../src/vm/fields.js';
import {launcherArgs, SEED_EXPOSURE_NOTE} from '../src/vm/launcher.js';
import type {Validation} from '../src/wizard/validators.js';
import {Form, type FieldSpec} from './Form.js';
import {Menu} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {fit, tone} from './theme.js';
import {defaultVolumePath} from '../src/wizard/defaults.js';

const asValidation = (r: FieldResult<unknown>): Validation => (r.ok ? {ok: true} : {ok: false, message: r.message, fix: r.fix});
const optional = (check: (v: string) => FieldResult<unknown>) => (v: string) => (v.trim() === '' ? {ok: true as const} : asValidation(check(v)));

type Stage = 'identity' | 'network' | 'review';

/** Cuts text into rows of `width` (the exact command must be shown whole, not truncated). */
export function hardWrap(text: string, width: number, maxRows: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < text.length && rows.length < maxRows; i += Math.max(1, width)) rows.push(text.slice(i, i + Math.max(1, width)));
  if (rows.length === maxRows && maxRows * width < text.length) rows[maxRows - 1] = fit(rows[maxRows - 1]! + '…', width);
  return rows;
}

export function LaunchScreen({controller, go, size, setEditing, setup}: ScreenProps & {setup: boolean}) {
  const s = controller.settings;
  const [stage, setStage] = useState<Stage>('identity');
  const [error, setError] = useState<string>();
  const values = useRef<Record<string, string>>({});
  const fields = useRef<LaunchFields | undefined>(undefined);
  useEffect(() => {
    setEditing(stage !== 'review');
    return () => setEditing(false);
  }, [stage, setEditing]);

  const identity: FieldSpec[] = [
    {name: 'launcher', label: 'Launcher', initial: s.get('launcherPath') ?? resolve('run-tdx.sh'), hint: 'the upstream run-tdx.sh (launch.sh of chutesai/sek8s)', validate: (v) => (v.trim() ? {ok: true} : {ok: false, message: 'give the path of run-tdx.sh'})},
    {name: 'cacheVolume', label: 'Cache volume', initial: s.get('volumePath') ?? defaultVolumePath(s.get('launcherPath')), validate: (v) => asValidation(validateCacheVolume(v))},
    {name: 'hostname', label: 'Hostname', initial: s.get('hostname') ?? '', validate: (v) => asValidation(validateHostname(v))},
    {name: 'minerSs58', label: 'Miner SS58', initial: s.get('minerSs58') ?? '', validate: (v) => asValidation(validateMinerSs58(v))},
    {name: 'minerSeed', label: 'Miner seed', secret: true, hint: '64 hex characters; never shown, never stored', validate: (v) => asValidation(validateMinerSeed(v))},
  ];
  const network: FieldSpec[] = [
    {name: 'networkType', label: 'Network type', initial: s.get('networkType') ?? 'tap', hint: 'tap, macvtap or user', validate: (v) => asValidation(validateNetworkType(v))},
    {name: 'netIface', label: 'Interface', initial: s.get('netIface') ?? '', hint: 'tap/macvtap: e.g. vmnet-12345678 from setup-macvtap.sh'},
    {name: 'vmIp', label: 'VM IP', initial: s.get('vmIp') ?? ''},
    {name: 'vmGateway', label: 'Gateway', initial: s.get('vmGateway') ?? ''},
    {name: 'vmDns', label: 'DNS', initial: s.get('vmDns') ?? '8.8.8.8', validate: optional(() => ({ok: true, value: ''}))},
    {name: 'sshPort', label: 'SSH port', initial: s.get('sshPort') ?? '2222'},
    {name: 'image', label: 'Guest image', initial: '', hint: 'empty: the launcher default (guest-tools/image/tdx-guest-ubuntu-24.04-final.qcow2)'},
    {name: 'vcpus', label: 'vCPUs', initial: '', hint: 'cores per socket, the VM gets 4 x n; empty: launcher default 24'},
    {name: 'mem', label: 'Memory', initial: '', hint: 'e.g. 1536G; empty: launcher default'},
  ];

  const checkAll = (all: Record<string, string>) => {
    const {launcher: _l, ...input} = all;
    const result = checkLaunchFields(input);
    if (!result.ok) {
      setError(result.errors.map((e) => `${e.flag}: ${e.message}`).join('; '));
      return;
    }
    setError(undefined);
    fields.current = result.value;
    setStage('review');
  };

  if (stage === 'identity' || stage === 'network') {
    const spec = stage === 'identity' ? identity : network;
    return (
      <Box flexDirection="column" width={size.width}>
        <Text {...tone('muted')}>{fit(stage === 'identity' ? 'Step 1 of 2: the launcher, the volume and the miner.' : 'Step 2 of 2: the network (tap, macvtap or user).', size.width)}</Text>
        <Form
          key={stage}
          width={size.width}
          fields={spec.map((f) => ({...f, initial: values.current[f.name] ?? f.initial}))}
          onSubmit={(v) => {
            Object.assign(values.current, v);
            if (stage === 'identity') setStage('network');
            else checkAll(values.current);
          }}
          onBack={() => (stage === 'network' ? setStage('identity') : go(setup ? {name: 'set'} : {name: 'vm'}))}
        />
        {error ? <Text {...tone('error')}>{fit(error, size.width)}</Text> : null}
      </Box>
    );
  }

  const f = fields.current!;
  const launcher = resolve(values.current.launcher!);
  const command = maskText(shellLine([launcher, ...launcherArgs(f)]), f.minerSeed ? [f.minerSeed] : []);
  return (
    <Box flexDirection="column" width={size.width}>
      <Text>Review: the exact command (the seed is masked here, not for the launcher):</Text>
      {hardWrap(command, size.width, 8).map((line, i) => (
        <Text key={`c${i}`} {...tone('accent')}>
          {line}
        </Text>
      ))}
      {hardWrap(SEED_EXPOSURE_NOTE, size.width, 4).map((line, i) => (
        <Text key={`n${i}`} {...tone('warn')}>
          {line}
        </Text>
      ))}
      <Box marginTop={1}>
        <Menu
          width={size.width}
          items={[
            {value: 'launch', label: 'Launch the VM'},
            {value: 'back', label: 'Back to the parameters'},
          ]}
          onBack={() => setStage('network')}
          onSelect={(item) =>
            item.value === 'back'
              ? setStage('network')
              : go({name: 'run', title: 'launch the VM', changesDisk: true, action: () => controller.launch(launcher, f), next: {name: 'log', back: {name: 'menu'}}, back: {name: 'launch', setup}})
          }
        />
      </Box>
    </Box>
  );
}
