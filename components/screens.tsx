// Which screens exist, what each is called, and which component draws it.
import type {ActionOutcome, WizardController} from '../src/wizard/controller.js';
import type {FrameSize} from './Frame.js';
import {MainMenu} from './MainMenu.js';
import {ChecksScreen} from './checks/ChecksScreen.js';
import {EraScreen} from './setup/EraScreen.js';
import {SetScreen, type SetDraft} from './setup/SetScreen.js';
import {RunScreen} from './RunScreen.js';
import {RelabelScreen} from './RelabelScreen.js';
import {GrowScreen} from './GrowScreen.js';
import {RepairScreen} from './RepairScreen.js';
import {NbdScreen} from './NbdScreen.js';
import {LaunchScreen} from './launch/LaunchScreen.js';
import {LogScreen} from './LogScreen.js';
import {VmScreen} from './VmScreen.js';
import {VolumesScreen} from './volumes/VolumesScreen.js';
import {TrustedScreen} from './TrustedScreen.js';

export type Screen =
  | {name: 'menu'}
  | {name: 'checks'; setup?: boolean}
  | {name: 'era'}
  | {name: 'set'; draft?: SetDraft}
  | {name: 'run'; title: string; action: () => Promise<ActionOutcome>; next?: Screen; back: Screen; changesDisk?: boolean; setupStage?: SetupStage; summary?: string[]}
  | {name: 'relabel'; path?: string}
  | {name: 'grow'; path?: string}
  | {name: 'repair'; path?: string}
  | {name: 'nbd'}
  | {name: 'launch'; setup?: boolean}
  /** `shell`: opened by `tdx-wizard logs --follow`, so Esc returns to the shell, not to a menu. */
  | {name: 'log'; back?: Screen; path?: string; afterLaunch?: boolean; setup?: boolean; shell?: boolean}
  | {name: 'vm'}
  | {name: 'volumes'}
  | {name: 'trusted'};

/** First-time setup's stages, in order: the title says where the operator is in the whole flow. */
const SETUP_STAGES = ['host checks', 'the guest era', 'the volume set', 'launch the VM', 'the boot'] as const;
export type SetupStage = (typeof SETUP_STAGES)[number];
const setupTitle = (stage: SetupStage, what: string = stage) => `first-time setup, step ${SETUP_STAGES.indexOf(stage) + 1} of ${SETUP_STAGES.length}: ${what}`;

/** A screen's keys are not listed here: the help bar shows the scopes live at the moment (useLiveScopes). */
export interface ScreenInfo {
  title: string;
  /** Show the step list beside the body. */
  steps: boolean;
}

export function screenInfo(screen: Screen): ScreenInfo {
  switch (screen.name) {
    case 'menu':
      return {title: 'main menu', steps: false};
    case 'checks':
      return {title: screen.setup ? setupTitle('host checks') : 'host checks', steps: false};
    case 'era':
      return {title: setupTitle('the guest era'), steps: false};
    case 'set':
      return {title: setupTitle('the volume set'), steps: false};
    case 'run':
      return {title: screen.setupStage ? setupTitle(screen.setupStage, screen.title) : screen.title, steps: true};
    case 'relabel':
      return {title: 'repair a label', steps: false};
    case 'grow':
      return {title: 'grow a volume', steps: false};
    case 'repair':
      return {title: 'repair a damaged volume', steps: false};
    case 'nbd':
      return {title: 'NBD devices', steps: false};
    case 'launch':
      return {title: screen.setup ? setupTitle('launch the VM') : 'launch the VM', steps: false};
    case 'log':
      return {title: screen.setup ? setupTitle('the boot', 'the boot in the serial log') : 'serial log', steps: false};
    case 'vm':
      return {title: 'the VM', steps: false};
    case 'volumes':
      return {title: 'volumes on this host', steps: false};
    case 'trusted':
      return {title: 'trusted storage for confidential containers', steps: false};
  }
}

export interface ScreenProps {
  controller: WizardController;
  go: (screen: Screen) => void;
  size: FrameSize;
  setEditing: (editing: boolean) => void;
  quit: () => void;
}

export function ScreenView({screen, ...props}: ScreenProps & {screen: Screen}) {
  switch (screen.name) {
    case 'menu':
      return <MainMenu {...props} />;
    case 'checks':
      return <ChecksScreen {...props} setup={Boolean(screen.setup)} />;
    case 'era':
      return <EraScreen {...props} />;
    case 'set':
      return <SetScreen {...props} draft={screen.draft} />;
    case 'run':
      return <RunScreen key={screen.title} {...props} screen={screen} />;
    case 'relabel':
      return <RelabelScreen {...props} path={screen.path} />;
    case 'grow':
      return <GrowScreen {...props} path={screen.path} />;
    case 'repair':
      return <RepairScreen key={screen.path ?? ''} {...props} path={screen.path} />;
    case 'nbd':
      return <NbdScreen {...props} />;
    case 'launch':
      return <LaunchScreen {...props} setup={Boolean(screen.setup)} />;
    case 'log':
      return <LogScreen key={screen.path ?? ''} {...props} back={screen.back ?? {name: 'menu'}} path={screen.path} afterLaunch={Boolean(screen.afterLaunch)} shell={Boolean(screen.shell)} />;
    case 'vm':
      return <VmScreen {...props} />;
    case 'volumes':
      return <VolumesScreen {...props} />;
    case 'trusted':
      return <TrustedScreen {...props} />;
  }
}
