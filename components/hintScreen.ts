// The wizard screen a hint names (assets/hints.json `wizard`), with the volume it is about filled
// in: the log pane and the VM screen open it on a key, so a hint is a step away from its fix.
import type {Role} from '../src/era/eras.js';
import type {Settings} from '../src/settings.js';
import type {Hint} from '../src/vm/hints.js';
import type {Screen} from './screens.js';

export interface HintAction {
  screen: Screen;
  /** What the key does, in the operator's words. */
  label: string;
}

export function hintAction(hint: Hint, settings: Partial<Settings> | undefined): HintAction | undefined {
  const role: Role = hint.role ?? 'cache';
  switch (hint.wizard) {
    case 'relabel':
    case 'repair': {
      // Both open on the volume of the hint's role, filled in from what the wizard remembers.
      const path = settings?.volumes?.[role] ?? (role === 'cache' ? settings?.volumePath : undefined);
      return {screen: {name: hint.wizard, ...(path ? {path} : {})}, label: `${hint.wizard} the ${role} volume${path ? ` ${path}` : ''}`};
    }
    case 'set':
      return {screen: {name: 'set'}, label: 'prepare the volume set again (it reuses what the guest accepts)'};
    case 'vm':
      return {screen: {name: 'vm'}, label: 'the VM: status and stop'};
    case 'checks':
      return {screen: {name: 'checks'}, label: 'the host checks'};
    default:
      return undefined;
  }
}
