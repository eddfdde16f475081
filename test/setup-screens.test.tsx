// Component tests for first-time setup's era and volume-set screens: ink-testing-library, plans
// and inspections made by hand (no processes, no files), at 100 and at 60 columns.
import {cleanup, render} from 'ink-testing-library';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {frameOf, press, tick} from './helpers/ink.js';
import {EraPicker, offerText} from '../components/setup/EraScreen.js';
import {SetReview, type ReviewChoice} from '../components/setup/SetReview.js';
import {SetTable} from '../components/setup/SetTable.js';
import {setPlain, textWidth} from '../components/theme.js';
import {findEra, volumeSpec, type Era, type Role} from '../src/era/eras.js';
import type {Action, Plan} from '../src/prepare/plan.js';
import type {Inspection} from '../src/volume/inspect.js';
import {offeredEra, setRows} from '../src/wizard/set.js';

const ENTER = '\r';
const DOWN = '\u001B[B';

/** The frame's rows joined with spaces: a wrapped sentence reads as one again. */
const joined = (frame: string) => frame.split('\n').map((row) => row.trim()).join(' ');

beforeEach(() => setPlain(false));
afterEach(() => cleanup());

const E4 = findEra('E4')!;
const DIR = '/var/lib/tdx/volumes-of-a-long-directory-name';

function create(era: Era, role: Role, file: string, sizeBytes: number): Action {
  return {kind: 'create', spec: volumeSpec(era, role)!, path: `${DIR}/${file}`, sizeBytes, format: 'qcow2', fs: 'ext4'};
}

function found(era: Era, role: Role, file: string, over: Partial<Inspection>): Inspection {
  const spec = volumeSpec(era, role)!;
  return {path: `${DIR}/${file}`, verdict: 'ready', accepted: true, reason: 'ext4 labelled as the guest wants', format: 'qcow2', virtualSize: 100 * 2 ** 30, backingChain: [], filesystem: 'ext4', label: spec.label, inUse: false, warnings: [], role, era: era.id, expectedLabel: spec.label, ...over};
}

/** E4 with a cache volume labelled "wrong", a storage volume to make and the config volume to make. */
function refusedPlan(): Plan {
  const inspection = found(E4, 'cache', 'cache-miner-01.qcow2', {verdict: 'wrong-label', accepted: false, label: 'wrong', reason: 'ext4 labelled "wrong", but the guest looks for "tdx-cache" and powers off without it', fix: 'tdx-wizard relabel'});
  return {era: E4, dir: DIR, actions: [{kind: 'refuse', spec: volumeSpec(E4, 'cache')!, path: inspection.path, inspection}, create(E4, 'storage', 'storage-miner-01.qcow2', 500 * 2 ** 30), create(E4, 'config', 'config-miner-01.qcow2', 10 * 2 ** 20)]};
}

function freshPlan(): Plan {
  return {era: E4, dir: DIR, actions: [create(E4, 'cache', 'cache-miner-01.qcow2', 5000 * 2 ** 30), create(E4, 'storage', 'storage-miner-01.qcow2', 500 * 2 ** 30), create(E4, 'config', 'config-miner-01.qcow2', 10 * 2 ** 20)]};
}

/** Every row fits the width, and nothing is cut with an ellipsis. */
function expectWhole(frame: string, width: number) {
  for (const row of frame.split('\n')) expect(textWidth(row), row).toBeLessThanOrEqual(width);
  expect(frame).not.toContain('…');
}

describe('EraPicker', () => {
  const detected = {era: E4, source: 'launcher' as const, evidence: 'quick-launch.sh has "python3 -m chutes_host.config": run-td with storage + cache + config (February 2026, the document)'};

  it('shows the detected era with its evidence, every era with its volumes, and picks the highlighted one', async () => {
    const picked: string[] = [];
    const r = render(<EraPicker offer={detected} width={100} height={20} onPick={(e) => picked.push(e.id)} onBack={() => {}} />);
    await tick();
    const frame = frameOf(r);
    expect(joined(frame)).toContain(offerText(detected));
    expect(frame).toMatch(/❯ E4\s+run-td\s+cache, storage, config · detected/);
    expect(frame).toMatch(/E3b\s+run-td\s+cache, containerd, config/);
    expect(joined(frame)).toContain('Volumes: cache "tdx-cache" 5000G qcow2 ext4; storage "storage" 500G qcow2 ext4; config "tdx-config" 10M qcow2 ext4.');
    await press(r.stdin, DOWN);
    expect(joined(frameOf(r))).toContain('E5: run-td with raw volumes');
    expect(joined(frameOf(r))).toContain('cache "tdx-cache" 5000G raw ext4');
    await press(r.stdin, ENTER);
    expect(picked).toEqual(['E5']);
  });

  it("offers the launcher's era over the remembered one, the remembered over E4", async () => {
    const fromLauncher = await offeredEra('test/fixtures/run-tdx.sh', 'E6');
    expect(fromLauncher).toMatchObject({source: 'launcher', era: {id: 'E1'}});
    expect(offerText(fromLauncher)).toContain('Detected E1 from the launcher: run-tdx.sh has "--cloud-init-user-data"');
    expect(await offeredEra('/nonexistent/run-td', 'E6')).toMatchObject({source: 'remembered', era: {id: 'E6'}});
    expect(await offeredEra(undefined, 'E99')).toMatchObject({source: 'default', era: {id: 'E4'}});
  });

  it('says where the era came from when nothing was detected', () => {
    expect(offerText({era: E4, source: 'default'})).toMatch(/No launcher is known yet: E4.*default/);
    expect(offerText({era: findEra('E6')!, source: 'remembered'})).toMatch(/^E6 was chosen last time/);
  });

  it('at 60x20 the evidence and the era details wrap whole, and every era can still be reached', async () => {
    const picked: string[] = [];
    const r = render(<EraPicker offer={detected} width={60} height={16} onPick={(e) => picked.push(e.id)} onBack={() => {}} />);
    await tick();
    const frame = frameOf(r);
    expectWhole(frame, 60);
    expect(frame.split('\n').length).toBeLessThanOrEqual(16);
    expect(joined(frame)).toContain(offerText(detected));
    await press(r.stdin, DOWN, DOWN, DOWN, ENTER);
    expect(picked).toEqual(['E6']);
    expectWhole(frameOf(r), 60);
  });
});

describe('SetTable', () => {
  it('one row per volume when it fits: role, file, size, format, filesystem with label, status', () => {
    const r = render(<SetTable rows={setRows(freshPlan())} width={100} />);
    const rows = frameOf(r).split('\n');
    expect(rows[0]).toMatch(/role\s+file\s+size\s+format\s+filesystem\s+status/);
    expect(rows[1]).toMatch(/cache\s+cache-miner-01\.qcow2\s+5000G\s+qcow2\s+ext4 "tdx-cache"\s+create/);
    expect(rows[3]).toMatch(/config\s+config-miner-01\.qcow2\s+10M\s+qcow2\s+ext4 "tdx-config"\s+create/);
  });

  it('at 60 columns each volume takes two rows, the file name whole: nothing is cut', () => {
    const plan = freshPlan();
    (plan.actions[0] as Extract<Action, {kind: 'create'}>).path = `${DIR}/cache-a-very-long-hostname-for-this-miner-01.qcow2`;
    const r = render(<SetTable rows={setRows(plan)} width={60} />);
    const frame = frameOf(r);
    expectWhole(frame, 60);
    expect(frame).toContain('cache-a-very-long-hostname-for-this-miner-01.qcow2');
    expect(frame).toMatch(/create\s+storage\s+500G qcow2 ext4 "storage"/);
  });
});

describe('SetReview', () => {
  it('a refused volume: the reason in full, prepare unavailable, its fixes offered as choices', async () => {
    const chosen: ReviewChoice[] = [];
    const r = render(<SetReview plan={refusedPlan()} dirMissing={false} width={60} height={18} onChoose={(c) => chosen.push(c)} />);
    await tick();
    const frame = frameOf(r);
    expectWhole(frame.replace('(unavailable)', ''), 60);
    expect(joined(frame)).toContain('cache: ext4 labelled "wrong", but the guest looks for "tdx-cache" and powers off without it');
    expect(frame).toMatch(/problem\s+cache/);
    expect(frame).toMatch(/Prepare the set \(fix the problem first\) \(unavailable\)/);
    expect(frame).toMatch(/❯ Relabel the cache volume as "tdx-cache" \(data kept\)/);
    await press(r.stdin, ENTER);
    expect(chosen.at(-1)).toEqual({kind: 'relabel', path: `${DIR}/cache-miner-01.qcow2`, label: 'tdx-cache'});
    await press(r.stdin, DOWN, ENTER);
    expect(chosen.at(-1)).toEqual({kind: 'rename', role: 'cache', path: `${DIR}/cache-miner-01.qcow2`});
  });

  it('a damaged volume (fs-errors, or qemu\'s corrupt bit): repair is offered, and not while another process holds it', async () => {
    for (const verdict of ['fs-errors', 'corrupt-image'] as const) {
      const inspection = found(E4, 'cache', 'cache-miner-01.qcow2', {verdict, accepted: false, reason: 'damaged', fix: 'tdx-wizard repair'});
      const plan: Plan = {era: E4, dir: DIR, actions: [{kind: 'refuse', spec: volumeSpec(E4, 'cache')!, path: inspection.path, inspection}]};
      const chosen: ReviewChoice[] = [];
      const r = render(<SetReview plan={plan} dirMissing={false} width={100} height={18} onChoose={(c) => chosen.push(c)} />);
      await tick();
      expect(frameOf(r)).toMatch(/❯ Repair the cache volume \(asks for its name; may drop damaged files\)/);
      await press(r.stdin, ENTER);
      expect(chosen.at(-1)).toEqual({kind: 'repair', path: `${DIR}/cache-miner-01.qcow2`});
      cleanup();
    }
    const held = found(E4, 'cache', 'cache-miner-01.qcow2', {verdict: 'in-use', contentVerdict: 'fs-errors', inUse: true, accepted: false, reason: 'in use'});
    const r = render(<SetReview plan={{era: E4, dir: DIR, actions: [{kind: 'refuse', spec: volumeSpec(E4, 'cache')!, path: held.path, inspection: held}]}} dirMissing={false} width={100} height={18} onChoose={() => undefined} />);
    await tick();
    expect(frameOf(r)).not.toMatch(/Repair the cache volume/);
  });

  it('a fresh set: prepare first, the sizes can be changed, the directory named (and made when missing)', async () => {
    const chosen: ReviewChoice[] = [];
    const r = render(<SetReview plan={freshPlan()} dirMissing width={100} height={18} onChoose={(c) => chosen.push(c)} />);
    await tick();
    const frame = frameOf(r);
    expect(joined(frame)).toContain(`The E4 guest reads 3 volumes from ${DIR} (the directory is made first):`);
    expect(frame).toMatch(/❯ Prepare the set: create cache, storage, config/);
    await press(r.stdin, DOWN, ENTER);
    expect(chosen).toEqual([{kind: 'sizes'}]);
  });
});
