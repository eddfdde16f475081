// The adapter for an era's launcher kind: the one place that chooses by kind.
import type {Era, LauncherKind} from '../../era/eras.js';
import {chutesCvm} from './chutes-cvm.js';
import {runTd} from './run-td.js';
import {runTdx} from './run-tdx.js';
import {runVm} from './run-vm.js';
import type {LauncherAdapter} from './types.js';

export type {CheckContext, FieldCheck, Invocation, LaunchInputAll, LauncherAdapter, OptionKey, VmProbe, VolumeCheck} from './types.js';
export {volumesOf} from './types.js';

const ADAPTERS: Record<LauncherKind, LauncherAdapter> = {'run-tdx': runTdx, 'run-vm': runVm, 'run-td': runTd, 'chutes-cvm': chutesCvm};

export function adapterFor(era: Pick<Era, 'launcher'>): LauncherAdapter {
  return ADAPTERS[era.launcher];
}
