// The set as it will be: the table, what is wrong with an existing volume (whole, wrapped), and
// the choices: prepare, fix a volume the guest would refuse (relabel it, or use a new file
// name), change the sizes, go back. Preparing is offered only once nothing is refused.
import {Box} from 'ink';
import type {Plan} from '../../src/prepare/plan.js';
import type {Role} from '../../src/era/eras.js';
import {canRelabel, setRows} from '../../src/wizard/set.js';
import {isDamaged} from '../../src/volume/verdict.js';
import {Menu, type MenuItem} from '../Menu.js';
import {SetTable, setTableHeight} from './SetTable.js';
import {Wrapped, wrappedRows} from '../Wrapped.js';

export type ReviewChoice =
  | {kind: 'prepare'}
  | {kind: 'relabel'; path: string; label: string}
  | {kind: 'repair'; path: string}
  | {kind: 'rename'; role: Role; path: string}
  | {kind: 'sizes'}
  | {kind: 'back'};

export interface SetReviewProps {
  plan: Plan;
  /** The directory is made when the set is prepared. */
  dirMissing: boolean;
  width: number;
  height: number;
  onChoose: (choice: ReviewChoice) => void;
}

export function reviewChoices(plan: Plan): {items: MenuItem[]; choices: Map<string, ReviewChoice>} {
  const choices = new Map<string, ReviewChoice>();
  const items: MenuItem[] = [];
  const add = (value: string, label: string, choice: ReviewChoice, disabled = false) => {
    items.push({value, label, ...(disabled ? {disabled} : {})});
    choices.set(value, choice);
  };
  const create = plan.actions.filter((a) => a.kind === 'create');
  const refused = plan.actions.filter((a) => a.kind === 'refuse');
  const prepare = refused.length ? 'Prepare the set (fix the problem first)' : create.length ? `Prepare the set: create ${create.map((a) => a.spec.role).join(', ')}` : 'Use this set: every volume is there';
  add('prepare', prepare, {kind: 'prepare'}, refused.length > 0);
  for (const a of refused) {
    if (a.kind !== 'refuse') continue;
    if (canRelabel(a.inspection)) add(`relabel:${a.spec.role}`, `Relabel the ${a.spec.role} volume as "${a.spec.label}" (data kept)`, {kind: 'relabel', path: a.path, label: a.spec.label});
    if (isDamaged(a.inspection) && !a.inspection.inUse) add(`repair:${a.spec.role}`, `Repair the ${a.spec.role} volume (asks for its name; may drop damaged files)`, {kind: 'repair', path: a.path});
    add(`rename:${a.spec.role}`, `Use a new file name for the ${a.spec.role} volume`, {kind: 'rename', role: a.spec.role, path: a.path});
  }
  if (create.some((a) => a.spec.role !== 'config')) add('sizes', 'Change the sizes', {kind: 'sizes'});
  add('back', 'Back: directory and hostname', {kind: 'back'});
  return {items, choices};
}

export function SetReview({plan, dirMissing, width, height, onChoose}: SetReviewProps) {
  const rows = setRows(plan);
  const intro = `The ${plan.era.id} guest reads ${rows.length} volumes from ${plan.dir}${dirMissing ? ' (the directory is made first)' : ''}:`;
  const problems = plan.actions.flatMap((a) => (a.kind === 'refuse' ? [`${a.spec.role}: ${a.inspection.reason}`] : []));
  const {items, choices} = reviewChoices(plan);
  const introRows = wrappedRows(intro, width, 3).length;
  const problemRows = problems.reduce((n, p) => n + wrappedRows(p, width, 4, '  ').length, 0);
  const menuHeight = Math.max(2, height - introRows - setTableHeight(rows, width) - problemRows - 1);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Wrapped text={intro} width={width} maxRows={3} toneName="muted" />
      <SetTable rows={rows} width={width} />
      {problems.map((p, k) => (
        <Wrapped key={k} text={p} width={width} maxRows={4} lead="  " toneName="error" />
      ))}
      <Box marginTop={1}>
        <Menu width={width} height={menuHeight} items={items} onSelect={(item) => onChoose(choices.get(item.value)!)} onBack={() => onChoose({kind: 'back'})} />
      </Box>
    </Box>
  );
}
