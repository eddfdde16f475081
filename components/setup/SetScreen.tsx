// First-time setup: the volume set of the chosen era. The directory and the hostname name the
// files (as upstream names them); the table shows each volume with what will happen to it; the
// sizes can be changed; the config volume's values are asked only when it must be made. Then the
// whole set is prepared in one run (the run screen: step list and output pane). What was typed is
// kept in the screen's draft, which the run screen hands back on Esc.
import {useEffect, useState} from 'react';
import {Box, Text} from 'ink';
import {existsSync} from 'node:fs';
import {DEFAULT_ERA, findEra, type Role} from '../../src/era/eras.js';
import type {Plan} from '../../src/prepare/plan.js';
import {checkSs58, DEFAULT_DNS, DEFAULT_GATEWAY, DEFAULT_VM_IP} from '../../src/config-volume/values.js';
import {validateHostname, validateIpv4, validateVmIp} from '../../src/vm/fields.js';
import {freshName, setDir, type ConfigInput, type SetInput} from '../../src/wizard/set.js';
import {layoutFolders} from '../../src/inventory/layout.js';
import {expandHome, fromField, resolvePath, validateSeedFile, validateSetDir, validateSetSize} from '../../src/wizard/validators.js';
import {Form, type FieldSpec} from '../Form.js';
import {Menu} from '../Menu.js';
import type {Screen, ScreenProps} from '../screens.js';
import {tone} from '../theme.js';
import {SetReview, type ReviewChoice} from './SetReview.js';
import {Wrapped} from '../Wrapped.js';

export interface SetDraft {
  stage: 'where' | 'table' | 'sizes' | 'rename' | 'config';
  dir: string;
  hostname: string;
  sizes: Partial<Record<Role, string>>;
  paths: Partial<Record<Role, string>>;
  renaming?: {role: Role; suggestion: string};
  config: Partial<ConfigInput>;
}

function firstDraft(settings: ScreenProps['controller']['settings']): SetDraft {
  // The directory last used for a set, else the layout (an empty field: <root>/vault/<hostname>/).
  const dir = settings.get('volumeDir') ?? '';
  return {
    stage: 'where',
    dir,
    hostname: settings.get('hostname') ?? '',
    sizes: {},
    paths: {},
    config: {minerSs58: settings.get('minerSs58'), vmIp: settings.get('vmIp') ?? DEFAULT_VM_IP, vmGateway: settings.get('vmGateway') ?? DEFAULT_GATEWAY, vmDns: settings.get('vmDns') ?? DEFAULT_DNS},
  };
}

/** Under the directory field: the path as the wizard will use it, and whether it is made (only once the set's review is confirmed). */
function dirHint(value: string): string {
  if (!value.trim()) return `empty: the layout, ${layoutFolders('<hostname>', 'vault').data}/ (one folder per VM, 0700, with its manifest)`;
  const path = resolvePath(value);
  const where = path === value.trim() ? '' : `${path}: `;
  return existsSync(path) ? `${where}where the volumes go (or are already)` : `${where}made when you confirm the set's review (not before)`;
}

export function SetScreen({controller, go, size, setEditing, draft: given}: ScreenProps & {draft?: SetDraft}) {
  const [draft, setDraft] = useState<SetDraft>(() => given ?? firstDraft(controller.settings));
  // The plan and the draft it was read for: a plan of an earlier draft is never shown (its choices differ).
  const [planned, setPlanned] = useState<{plan: Plan; draft: SetDraft}>();
  const plan = planned?.draft === draft ? planned.plan : undefined;
  const [problem, setProblem] = useState<{message: string; fix?: string}>();
  // The era chosen on the screen before (remembered there); the document's when none.
  const eraId = findEra(controller.settings.get('era') ?? DEFAULT_ERA)?.id ?? DEFAULT_ERA;
  const update = (patch: Partial<SetDraft>) => setDraft((d) => ({...d, ...patch}));
  const input = (d: SetDraft): SetInput => ({era: eraId, dir: setDir(d.dir, d.hostname.trim()), hostname: d.hostname.trim(), sizes: d.sizes, paths: d.paths});

  useEffect(() => {
    setEditing(draft.stage !== 'table');
    return () => setEditing(false);
  }, [draft.stage, setEditing]);

  // The plan is read again whenever the table is shown: sizes, names and the files on disk may have changed.
  useEffect(() => {
    if (draft.stage !== 'table') return;
    let live = true;
    setProblem(undefined);
    controller.planSet(input(draft)).then(
      (p) => live && setPlanned({plan: p, draft}),
      (e: Error & {fix?: string}) => live && setProblem({message: e.message, fix: e.fix}),
    );
    return () => {
      live = false;
    };
  }, [draft]); // eslint-disable-line react-hooks/exhaustive-deps

  // `needsConfig` comes from the plan on the table: the config form's draft is a newer one than the plan's.
  const prepare = (d: SetDraft, needsConfig: boolean) => {
    const run: SetInput = {...input(d), ...(needsConfig ? {config: d.config as ConfigInput} : {})};
    go({name: 'run', title: `prepare the ${eraId} set`, setupStage: 'the volume set', changesDisk: true, action: () => controller.prepareSet(run), next: {name: 'launch', setup: true}, back: {name: 'set', draft: {...d, stage: 'table'}}});
  };

  const choose = (choice: ReviewChoice) => {
    if (choice.kind === 'back') return update({stage: 'where'});
    if (choice.kind === 'sizes') return update({stage: 'sizes'});
    if (choice.kind === 'rename') return update({stage: 'rename', renaming: {role: choice.role, suggestion: freshName(choice.path)}});
    if (choice.kind === 'repair') return go({name: 'repair', path: choice.path});
    if (choice.kind === 'relabel') {
      const back: Screen = {name: 'set', draft: {...draft, stage: 'table'}};
      return go({name: 'run', title: `relabel ${choice.path.split('/').pop()}`, changesDisk: true, action: () => controller.relabel(choice.path, choice.label), next: back, back});
    }
    if (plan?.actions.some((a) => a.kind === 'create' && a.spec.role === 'config')) return update({stage: 'config'});
    prepare(draft, false);
  };

  const form = (fields: FieldSpec[], onSubmit: (v: Record<string, string>) => void, onBack: () => void, intro: string) => (
    <Box flexDirection="column" width={size.width}>
      <Wrapped text={intro} width={size.width} maxRows={3} toneName="muted" />
      <Form key={draft.stage} width={size.width} fields={fields} onSubmit={onSubmit} onBack={onBack} />
    </Box>
  );

  switch (draft.stage) {
    case 'where': {
      const era = findEra(eraId);
      return form(
        [
          {name: 'dir', label: 'Directory', initial: draft.dir, validate: validateSetDir, hint: dirHint},
          {name: 'hostname', label: 'Hostname', initial: draft.hostname, validate: (v) => fromField(validateHostname(v)), hint: "the VM's name; the files are named after it"},
        ],
        (v) => update({stage: 'table', dir: v.dir!, hostname: v.hostname!.trim()}),
        () => go({name: 'era'}),
        `The ${eraId} guest reads ${era ? era.volumes.map((s) => s.role).join(', ') : 'its volumes'}. Where do they go, and what is the VM called?`,
      );
    }
    case 'sizes': {
      // The volumes to be made (all data volumes when the plan could not be read, e.g. a size was refused).
      const made = plan?.actions.filter((a) => a.kind === 'create').map((a) => a.spec.role);
      const specs = (findEra(eraId)?.volumes ?? []).filter((v) => v.role !== 'config' && (!made || made.includes(v.role)));
      return form(
        specs.map((spec) => ({name: spec.role, label: `${spec.role} size`, initial: draft.sizes[spec.role] ?? spec.defaultSize, validate: validateSetSize, hint: `the era's default is ${spec.defaultSize}; the file starts small and grows`})),
        (v) => update({stage: 'table', sizes: {...draft.sizes, ...v}}),
        () => update({stage: 'table'}),
        'Sizes of the new volumes (5000G, 5T, 500G...). They are thin: each grows as the guest writes.',
      );
    }
    case 'rename': {
      const role = draft.renaming!.role;
      return form(
        [{name: 'file', label: `New ${role} file`, initial: draft.paths[role] ?? draft.renaming!.suggestion, validate: (v) => (v.trim() ? {ok: true} : {ok: false, message: 'give a file name'}), hint: 'the refused file stays as it is'}],
        (v) => update({stage: 'table', paths: {...draft.paths, [role]: v.file!.trim()}}),
        () => update({stage: 'table'}),
        `A new ${role} volume under another name in ${setDir(draft.dir, draft.hostname.trim())}; the launcher is given this name.`,
      );
    }
    case 'config':
      return form(
        [
          {name: 'minerSs58', label: 'Miner SS58', initial: draft.config.minerSs58 ?? '', validate: (v) => fromField(checkSs58(v.trim()))},
          {name: 'seedFile', label: 'Seed file', initial: draft.config.seedFile ?? '', validate: validateSeedFile, hint: "a file with the seed's 64 hex characters, mode 0600"},
          {name: 'vmIp', label: 'VM IP', initial: draft.config.vmIp ?? '', validate: (v) => fromField(validateVmIp(v))},
          {name: 'vmGateway', label: 'Gateway', initial: draft.config.vmGateway ?? '', validate: (v) => fromField(validateIpv4(v, 'gateway'))},
          {name: 'vmDns', label: 'DNS', initial: draft.config.vmDns ?? '', validate: (v) => fromField(validateIpv4(v, 'DNS server'))},
        ],
        (v) => {
          const next = {...draft, stage: 'table' as const, config: {...draft.config, ...v, seedFile: expandHome(v.seedFile!)}};
          setDraft(next);
          prepare(next, true);
        },
        () => update({stage: 'table'}),
        'The config volume (tdx-config): the guest reads its hostname, the miner and its network from it.',
      );
    case 'table':
      if (problem) {
        return (
          <Box flexDirection="column" width={size.width}>
            <Wrapped text={problem.message} width={size.width} maxRows={4} toneName="error" />
            {problem.fix ? <Wrapped text={problem.fix} lead="fix: " width={size.width} maxRows={3} toneName="info" /> : null}
            <Box marginTop={1}>
              <Menu
                width={size.width}
                items={[{value: 'sizes', label: 'Change the sizes'}, {value: 'where', label: 'Back: directory and hostname'}]}
                onSelect={(item) => update({stage: item.value as SetDraft['stage']})}
                onBack={() => update({stage: 'where'})}
              />
            </Box>
          </Box>
        );
      }
      if (!plan) return <Text {...tone('muted')}>reading the directory...</Text>;
      return <SetReview key={planned!.plan.actions.map((a) => a.kind).join()} plan={plan} dirMissing={!existsSync(plan.dir)} width={size.width} height={size.height} onChoose={choose} />;
  }
}
