// Component tests: ink-testing-library with a store filled by hand (no processes, no files).
import {vi} from 'vitest';

// Colour on for this file (chalk reads FORCE_COLOR when ink is first imported), so "no colour"
// assertions in plain mode are meaningful: colour mode really does emit SGR here.
vi.hoisted(() => {
  process.env.FORCE_COLOR = '1';
  delete process.env.NO_COLOR;
});

import {useState} from 'react';
import {Text, type Key} from 'ink';
import {cleanup, render} from 'ink-testing-library';
import stripAnsi from 'strip-ansi';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {frameOf, press, tick} from './helpers/ink.js';
import {addRun, createAppStore, newRunRecord, setSteps, type AppStore, type RunRecord, type StepState} from '../src/store.js';
import {Form, type FieldSpec} from '../components/Form.js';
import {Frame, frameLayout} from '../components/Frame.js';
import {HelpBar} from '../components/HelpBar.js';
import {KeyHelp} from '../components/KeyHelp.js';
import {KEYMAP, keyLabel, matchKey, useKeymap} from '../components/keymap.js';
import {KeyRouter} from '../components/KeyRouter.js';
import {LogPane} from '../components/LogPane.js';
import {ArraySource} from '../src/vm/log-source.js';
import {Menu, type MenuItem} from '../components/Menu.js';
import {OutputPane} from '../components/OutputPane.js';
import {ProgressBar} from '../components/ProgressBar.js';
import {StepList} from '../components/StepList.js';
import {Table} from '../components/Table.js';
import {TextField} from '../components/TextField.js';
import {TypedConfirm} from '../components/TypedConfirm.js';
import {useStoreState} from '../components/useStoreState.js';
import {detectThemeMode, fit, formatCount, setPlain, textWidth, wrapRows} from '../components/theme.js';

const ENTER = '\r';
const UP = '\u001B[A';
const DOWN = '\u001B[B';
const ESC = '\u001B';
const END = '\u001B[F';

const rowsOf = (r: {lastFrame(): string | undefined}) => frameOf(r).split('\n');

beforeEach(() => setPlain(false));
afterEach(() => cleanup());

// ---- Menu --------------------------------------------------------------------------------------

const ITEMS: MenuItem[] = [
  {value: 'setup', label: 'First-time setup'},
  {value: 'nbd', label: 'Troubleshoot NBD'},
  {value: 'relabel', label: 'Repair label', destructive: true},
  {value: 'grow', label: 'Grow a volume', destructive: true, disabled: true},
  {value: 'logs', label: 'Tail the serial log'},
];

describe('wrapRows', () => {
  it('breaks at spaces within the width, and cuts only what does not fit in the rows allowed', () => {
    expect(wrapRows('use 100G or more; a smaller test volume', 20, 3)).toEqual(['use 100G or more; a', 'smaller test volume']);
    expect(wrapRows('one two three four five six', 9, 2)).toEqual(['one two', 'three fo…']);
    expect(wrapRows('a-very-long-word-without-spaces', 10, 5)).toEqual(['a-very-lon', 'g-word-wit', 'hout-space', 's']);
    expect(wrapRows('short', 40, 3)).toEqual(['short']);
    expect(wrapRows('line one\nline two', 40, 3)).toEqual(['line one line two']); // one field, one paragraph
    expect(wrapRows('anything', 0, 3)).toEqual([]);
  });
});

describe('formatCount', () => {
  it('groups thousands with commas, as en-US does', () => {
    for (const n of [0, 7, 999, 1000, 12345, 999999, 1000000, 2718281828, -4500]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});

// ---- KeyRouter: no key is lost between screens ---------------------------------------------------

describe('KeyRouter', () => {
  // Screen "a" leaves for the menu on x; q quits, but only from the menu (a handler whose meaning
  // depends on the screen, as the App's global keys do).
  function Screens({onPick, onQuit}: {onPick: (item: MenuItem) => void; onQuit: () => void}) {
    const [screen, setScreen] = useState<'a' | 'menu'>('a');
    useKeymap('global', (action, input) => {
      if (screen === 'a' && input === 'x') setScreen('menu');
      if (screen === 'menu' && action === 'quit') onQuit();
    });
    return screen === 'a' ? <Text>screen a</Text> : <Menu items={ITEMS} onSelect={onPick} width={60} />;
  }

  /**
   * Writes `key` the moment a frame showing `text` has been drawn (in the microtask after the
   * write, as a terminal's next key arrives at the earliest): before any passive effect has run.
   */
  function pressAsDrawn(r: ReturnType<typeof render>, text: string, key: string): void {
    const stdout = r.stdout as unknown as {write: (frame: string) => void};
    const write = stdout.write;
    stdout.write = (frame: string) => {
      write(frame);
      if (!stripAnsi(frame).includes(text)) return;
      stdout.write = write;
      queueMicrotask(() => r.stdin.write(key));
    };
  }

  it('a key that comes as a screen appears reaches that screen', async () => {
    const picked: string[] = [];
    const r = render(<KeyRouter><Screens onPick={(item) => picked.push(item.value)} onQuit={() => {}} /></KeyRouter>);
    await tick();
    pressAsDrawn(r, 'First-time setup', ENTER);
    r.stdin.write('x');
    await tick();
    expect(frameOf(r)).toContain('First-time setup');
    expect(picked).toEqual(['setup']);
  });

  it('a key that comes as a screen appears is read with that screen\'s meaning, with or without the router', async () => {
    for (const wrap of [true, false]) {
      let quits = 0;
      const screens = <Screens onPick={() => {}} onQuit={() => quits++} />;
      const r = render(wrap ? <KeyRouter>{screens}</KeyRouter> : screens);
      await tick();
      pressAsDrawn(r, 'First-time setup', 'q');
      r.stdin.write('x');
      await tick();
      expect(frameOf(r)).toContain('First-time setup');
      expect(quits, wrap ? 'in the router' : 'alone').toBe(1);
      r.unmount();
    }
  });

  it('keys that arrive in one read are each a key: "jj" and Enter in a menu, "/" and a search in the log pane', async () => {
    const picked: string[] = [];
    const menu = render(<KeyRouter><Menu items={ITEMS} onSelect={(item) => picked.push(item.value)} width={60} /></KeyRouter>);
    await tick();
    menu.stdin.write('jj\r');
    await tick();
    expect(picked).toEqual(['relabel']);
    menu.unmount();

    const lines = Array.from({length: 200}, (_, i) => `serial ${i}`);
    const log = render(<KeyRouter><LogPane source={arrayProvider(lines)} version={0} width={80} height={6} /></KeyRouter>);
    await tick();
    log.stdin.write('/serial 42\r');
    await tick();
    expect(frameOf(log)).toMatch(/serial 42$/m); // the match is in view
    expect(frameOf(log)).toContain('/serial 42'); // the search stands
    expect(frameOf(log)).not.toContain('Esc cancel'); // and its prompt has closed: the Enter counted
  });

  it('the keys of one read after an Enter reach the screen the Enter opened: a pasted path fills its field, its q quits nothing', async () => {
    let quits = 0;
    let typed = '';
    function Flow() {
      const [screen, setScreen] = useState<'menu' | 'field'>('menu');
      const [value, setValue] = useState('');
      // q quits from the menu only, as the App's global keys do (a text field takes letters).
      useKeymap('global', (action) => {
        if (screen === 'menu' && action === 'quit') quits++;
      });
      return screen === 'menu' ? (
        <Menu items={ITEMS} onSelect={() => setScreen('field')} width={60} />
      ) : (
        <TextField label="Volume file" value={value} onChange={(v) => setValue((typed = v))} width={60} />
      );
    }
    const r = render(<KeyRouter><Flow /></KeyRouter>);
    await tick();
    r.stdin.write('\r/srv/quick.qcow2');
    await tick();
    expect(typed).toBe('/srv/quick.qcow2');
    expect(quits).toBe(0);
  });

  it('each key reaches each listener once (Down then Enter picks the second item)', async () => {
    const picked: string[] = [];
    const r = render(<KeyRouter><Screens onPick={(item) => picked.push(item.value)} onQuit={() => {}} /></KeyRouter>);
    await tick();
    await press(r.stdin, 'x', DOWN, ENTER);
    expect(picked).toEqual(['nbd']);
  });
});

describe('Menu', () => {
  it('ignores digits and letters; arrows and j/k move; Enter selects the highlighted item', async () => {
    const onSelect = vi.fn();
    const r = render(<Menu items={ITEMS} onSelect={onSelect} width={60} />);
    await tick();
    await press(r.stdin, '1', '2', '3', 'y', 'x', ' ');
    expect(onSelect).not.toHaveBeenCalled();
    expect(rowsOf(r)[0]).toContain('❯ First-time setup');

    await press(r.stdin, DOWN, 'j');
    expect(rowsOf(r)[2]).toContain('❯ Repair label');
    expect(rowsOf(r)[2]).toContain('▲ destructive');
    await press(r.stdin, DOWN); // skips the disabled item
    expect(rowsOf(r)[4]).toContain('❯ Tail the serial log');
    expect(rowsOf(r)[3]).toContain('(unavailable)');
    await press(r.stdin, 'k', UP);
    expect(rowsOf(r)[1]).toContain('❯ Troubleshoot NBD');
    expect(onSelect).not.toHaveBeenCalled();

    await press(r.stdin, ENTER);
    expect(onSelect).toHaveBeenCalledTimes(1);
    expect(onSelect.mock.calls[0]![0]).toMatchObject({value: 'nbd'});
  });

  it('hands destructive items to the caller flagged, and Esc calls onBack', async () => {
    const onSelect = vi.fn();
    const onBack = vi.fn();
    const r = render(<Menu items={ITEMS} onSelect={onSelect} onBack={onBack} width={60} initialValue="relabel" />);
    await tick();
    await press(r.stdin, ENTER, ESC);
    expect(onSelect.mock.calls[0]![0]).toMatchObject({value: 'relabel', destructive: true});
    expect(onBack).toHaveBeenCalledTimes(1);
  });

  it('scrolls within its height', async () => {
    const items = Array.from({length: 20}, (_, i) => ({value: `v${i}`, label: `Item ${i}`}));
    const r = render(<Menu items={items} onSelect={() => {}} width={40} height={5} />);
    await tick();
    expect(rowsOf(r)).toHaveLength(5);
    await press(r.stdin, ...Array<string>(7).fill(DOWN));
    expect(frameOf(r)).toContain('❯ Item 7');
    expect(rowsOf(r)).toHaveLength(5);
  });
});

// ---- Form --------------------------------------------------------------------------------------

const sizeField: FieldSpec = {
  name: 'size',
  label: 'Size',
  validate: (v) => (/^\d+[GT]$/.test(v) ? {ok: true} : {ok: false, message: 'Not a size', fix: 'a number and G or T, e.g. 5000G'}),
};
const seedField: FieldSpec = {
  name: 'seed',
  label: 'Miner seed',
  secret: true,
  validate: (v) => (v.split(' ').length === 12 ? {ok: true} : {ok: false, message: `"${v}" is not 12 words`}),
};

describe('Form', () => {
  it('shows the validator message as the operator types and moves on only when valid', async () => {
    const onSubmit = vi.fn();
    const r = render(<Form fields={[sizeField, {name: 'path', label: 'Path', initial: '/var/x.qcow2'}]} onSubmit={onSubmit} onBack={() => {}} width={70} />);
    await tick();
    expect(frameOf(r)).not.toContain('Not a size'); // nothing typed yet: no scolding
    await press(r.stdin, '5', '0', 'x');
    expect(frameOf(r)).toContain('✖ Not a size');
    expect(frameOf(r)).toContain('fix: a number and G or T, e.g. 5000G');
    await press(r.stdin, ENTER);
    expect(rowsOf(r)[0]).toContain('❯ Size');
    expect(onSubmit).not.toHaveBeenCalled();

    await press(r.stdin, '\u007F', 'G'); // Backspace, then fix it
    expect(frameOf(r)).not.toContain('Not a size');
    expect(rowsOf(r)[0]).toContain('50G');
    expect(rowsOf(r)[0]).toContain('✔');
    await press(r.stdin, ENTER);
    expect(frameOf(r)).toMatch(/❯ Path\s+\/var\/x\.qcow2/);
    await press(r.stdin, ENTER);
    expect(onSubmit).toHaveBeenCalledWith({size: '50G', path: '/var/x.qcow2'});
  });

  it('keys that arrive in one read (typed while the wizard was busy) count one by one: Ctrl+U, Backspace, Enter', async () => {
    const onSubmit = vi.fn();
    const r = render(
      <KeyRouter>
        <Form fields={[{...sizeField, initial: '7T'}, {name: 'path', label: 'Path', initial: '/var/x.qcow2'}]} onSubmit={onSubmit} onBack={() => {}} width={70} />
      </KeyRouter>,
    );
    await tick();
    r.stdin.write('\u0015500GX\u007F\r'); // one read: clear, "500GX", Backspace, Enter
    await tick();
    expect(frameOf(r)).toMatch(/Size\s+500G ✔/);
    expect(frameOf(r)).toMatch(/❯ Path/); // the Enter moved on
    r.stdin.write('\u0015/srv/c.qcow2\r');
    await tick();
    expect(onSubmit).toHaveBeenCalledWith({size: '500G', path: '/srv/c.qcow2'});
  });

  it('Enter on an empty invalid field shows the message; Esc goes back a field, then calls onBack', async () => {
    const onBack = vi.fn();
    const r = render(<Form fields={[{name: 'a', label: 'A', initial: 'ok'}, sizeField]} onSubmit={() => {}} onBack={onBack} width={70} />);
    await tick();
    await press(r.stdin, ENTER, ENTER);
    expect(frameOf(r)).toContain('✖ Not a size');
    await press(r.stdin, ESC);
    expect(rowsOf(r)[0]).toContain('❯ A');
    expect(onBack).not.toHaveBeenCalled();
    await press(r.stdin, ESC);
    expect(onBack).toHaveBeenCalledTimes(1);
  });

  it('never renders a secret field, not even in its validation message', async () => {
    const onSubmit = vi.fn();
    const r = render(<Form fields={[seedField]} onSubmit={onSubmit} onBack={() => {}} width={80} />);
    await tick();
    const secret = 'alpha bravo charlie';
    for (const ch of secret) r.stdin.write(ch); // a paste: all keys before any re-render
    await tick();
    const all = r.frames.map((f) => stripAnsi(f)).join('\n');
    expect(all).not.toContain('alpha');
    expect(all).not.toContain('bravo');
    expect(frameOf(r)).toContain('*'.repeat(secret.length));
    expect(frameOf(r)).toContain('is not 12 words');
    await press(r.stdin, ENTER);
    expect(onSubmit).not.toHaveBeenCalled();
  });
});

// ---- TypedConfirm ------------------------------------------------------------------------------

describe('TypedConfirm', () => {
  const setup = () => {
    const onConfirm = vi.fn();
    const onCancel = vi.fn();
    const r = render(
      <TypedConfirm title="Format /dev/nbd0p1 as ext4" lines={['Everything on cache-host.qcow2 is erased.']} expected="cache-host.qcow2"
        onConfirm={onConfirm} onCancel={onCancel} width={80} />,
    );
    return {r, onConfirm, onCancel};
  };

  it('shows the loss and refuses anything but the exact text', async () => {
    const {r, onConfirm} = setup();
    await tick();
    expect(frameOf(r)).toContain('Everything on cache-host.qcow2 is erased.');
    expect(frameOf(r)).toContain('Type cache-host.qcow2 and press Enter to confirm.');
    expect(frameOf(r)).toContain('Press Esc to cancel.');
    await press(r.stdin, 'y', ENTER);
    expect(onConfirm).not.toHaveBeenCalled();
    expect(frameOf(r)).toContain('"y" is not "cache-host.qcow2"');
    await press(r.stdin, '\u0015'); // Ctrl+U clears
    await press(r.stdin, ...'CACHE-host.qcow2');
    await press(r.stdin, ENTER);
    expect(onConfirm).not.toHaveBeenCalled();
    await press(r.stdin, ENTER, ENTER);
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it('accepts the exact text on Enter, once', async () => {
    const {r, onConfirm, onCancel} = setup();
    await tick();
    await press(r.stdin, ...'cache-host');
    expect(frameOf(r)).not.toContain('✖'); // a correct beginning is not scolded
    await press(r.stdin, ...'.qcow2');
    expect(onConfirm).not.toHaveBeenCalled(); // typing alone never acts
    expect(frameOf(r)).toContain('Matches. Press Enter');
    await press(r.stdin, ENTER, ENTER);
    expect(onConfirm).toHaveBeenCalledTimes(1);
    expect(onCancel).not.toHaveBeenCalled();
  });

  it('Esc cancels', async () => {
    const {r, onConfirm, onCancel} = setup();
    await tick();
    await press(r.stdin, ...'cache', ESC);
    expect(onCancel).toHaveBeenCalledTimes(1);
    expect(onConfirm).not.toHaveBeenCalled();
  });
});

// ---- OutputPane --------------------------------------------------------------------------------

function storeWithRun(patch: Partial<RunRecord> = {}, lines = 0): {store: AppStore; run: RunRecord} {
  const store = createAppStore();
  const run = newRunRecord(1, 'Format ext4', ['mkfs.ext4', '-F', '-L', 'cache', '/dev/nbd0p1'], 'command', 'running');
  Object.assign(run, {startedAt: 1_000, ...patch});
  for (let i = 0; i < lines; i++) run.lines.push({stream: 'out', text: `line ${i}`});
  addRun(store, run);
  return {store, run};
}

describe('OutputPane', () => {
  it('renders only the last lines of a million-line run, fast', () => {
    const {store} = storeWithRun({}, 1_000_000);
    const started = performance.now();
    const r = render(<OutputPane store={store} width={80} height={10} now={3_500} />);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(500);
    const rows = rowsOf(r);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toContain('$ mkfs.ext4 -F -L cache /dev/nbd0p1');
    expect(rows[0]).toContain('running · 1,000,000 lines · 2.5 s');
    expect(rows.slice(1)).toEqual(Array.from({length: 9}, (_, i) => `line ${999_991 + i}`));
  });

  it('follows new output on outputTick and shows the partial line and progress', async () => {
    const {store, run} = storeWithRun({}, 3);
    const r = render(<OutputPane store={store} width={60} height={6} now={2_000} />);
    run.lines.push({stream: 'err', text: 'Writing inode tables: done'});
    run.partial = 'Creating journal (262144 blocks): 1/5';
    store.setState((s) => ({outputTick: s.outputTick + 1}));
    await tick();
    expect(frameOf(r)).toContain('Writing inode tables: done');
    expect(rowsOf(r).at(-1)).toContain('Creating journal');
    run.progress = 0.45;
    store.setState((s) => ({outputTick: s.outputTick + 1}));
    await tick();
    expect(rowsOf(r).at(-1)).toMatch(/\[█+░+\]\s+45%$/);
    expect(rowsOf(r)).toHaveLength(6);
  });

  it('collapses to one summary row on success and stays open on failure', async () => {
    const ok = storeWithRun({status: 'ok', exitCode: 0, endedAt: 2_200}, 50);
    const r1 = render(<OutputPane store={ok.store} width={80} height={10} />);
    expect(rowsOf(r1)).toEqual([expect.stringMatching(/^✔ mkfs\.ext4 -F -L cache \/dev\/nbd0p1\s+\(1\.2 s\)$/)]);

    const bad = storeWithRun({status: 'failed', exitCode: 1, endedAt: 2_200}, 50);
    const r2 = render(<OutputPane store={bad.store} width={80} height={10} />);
    const rows = rowsOf(r2);
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatch(/^✖ \$ mkfs\.ext4 .*failed \(exit 1\) · 50 lines · 1\.2 s$/);
    expect(rows.at(-1)).toBe('line 49');
  });

  it('keeps each line in its row: long lines cut to the width, empty lines kept, a colour left open does not spill over', () => {
    const {store, run} = storeWithRun({}, 0);
    for (const text of ['\u001B[31mred, never reset', '', 'x'.repeat(200), 'plain']) run.lines.push({stream: 'out', text});
    const r = render(<OutputPane store={store} width={40} height={6} now={2_000} />);
    const rows = rowsOf(r);
    expect(rows).toHaveLength(5);
    expect(rows.slice(1)).toEqual(['red, never reset', '', `${'x'.repeat(39)}…`, 'plain']);
    const raw = (r.lastFrame() ?? '').split('\n');
    expect(raw[1]).toContain('\u001B[31m');
    expect(raw[4]).toBe('plain'); // no colour carried into the next rows
  });
});

describe('ProgressBar', () => {
  it('fills its width and prints the percentage', () => {
    const r = render(<ProgressBar value={0.5} width={30} label="copy" />);
    const row = frameOf(r);
    expect(textWidth(row)).toBeLessThanOrEqual(30);
    expect(row).toMatch(/^copy \[█+░+\]\s+50%$/);
  });
});

// ---- StepList ----------------------------------------------------------------------------------

const STEPS: StepState[] = [
  {id: 'checks', title: 'Host checks', status: 'done', startedAt: 0, endedAt: 1_200},
  {id: 'create', title: 'Create volume', status: 'done', startedAt: 0, endedAt: 3_000, changedDisk: true},
  {id: 'format', title: 'Format ext4', status: 'running', startedAt: 10_000},
  {id: 'label', title: 'Set label', status: 'pending'},
  {id: 'verify', title: 'Verify', status: 'skipped', detail: 'not needed'},
  {id: 'launch', title: 'Launch', status: 'failed', detail: 'launcher not found'},
];

describe('StepList', () => {
  it('shows each step with its glyph and elapsed time', () => {
    const r = render(<StepList steps={STEPS} width={80} now={22_000} />);
    const rows = rowsOf(r);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatch(/^✔ Host checks\s+1\.2 s$/);
    expect(rows[1]).toContain('(disk changed)');
    expect(rows[2]).toMatch(/^● Format ext4\s+12 s$/);
    expect(rows[3]).toMatch(/^○ Set label/);
    expect(rows[4]).toMatch(/^⊘ Verify · not needed/);
    expect(rows[5]).toMatch(/^✖ Launch · launcher not found/);
    for (const row of rows) expect(textWidth(row)).toBeLessThanOrEqual(80);
  });

  it('wraps a long step name and detail onto spare rows instead of cutting them (the current and failed steps first)', () => {
    const steps: StepState[] = [
      {id: 'attach', title: 'Attach cache-miner-01.qcow2 through FUSE', status: 'done', startedAt: 0, endedAt: 900},
      {id: 'fsck', title: 'Check the filesystem (e2fsck -f -y, it must be clean)', status: 'failed', detail: 'e2fsck exit 4: errors left uncorrected in /tmp/x/disk'},
      {id: 'grow', title: 'Grow the filesystem', status: 'pending'},
    ];
    const r = render(<StepList steps={steps} width={34} height={12} now={22_000} compact={false} />);
    const rows = rowsOf(r);
    expect(rows.join('\n')).not.toContain('…');
    expect(rows.map((row) => row.trim()).join(' ')).toContain('errors left uncorrected in /tmp/x/disk');
    expect(rows.length).toBeLessThanOrEqual(12);
    for (const row of rows) expect(textWidth(row)).toBeLessThanOrEqual(34);
    // With no spare rows each step keeps exactly one.
    expect(rowsOf(render(<StepList steps={steps} width={34} height={3} now={22_000} compact={false} />))).toHaveLength(3);
  });

  it('collapses to one row under 60 columns', () => {
    const r = render(<StepList steps={STEPS} width={50} now={22_000} />);
    expect(rowsOf(r)).toEqual(['● Step 3/6: Format ext4 · 12 s']);
  });
});

// ---- keymap, HelpBar, KeyHelp ------------------------------------------------------------------

describe('keymap and help', () => {
  it('HelpBar prints exactly the keymap rows marked for the bar', () => {
    const expected = KEYMAP.filter((b) => (b.scope === 'menu' || b.scope === 'global') && b.bar)
      .sort((a, b) => Number(a.scope === 'global') - Number(b.scope === 'global'))
      .map((b) => `${b.label} ${b.description}`)
      .join(' · ');
    const r = render(<HelpBar scopes={['menu', 'global']} width={200} />);
    expect(frameOf(r)).toBe(expected);
    expect(expected).toBe('↑↓ j k move · Enter select · Esc back · ? help · q quit');
  });

  it('HelpBar keeps the global keys ("? help") when the scope keys do not fit', () => {
    const r = render(<HelpBar scopes={['log', 'global']} width={60} />);
    expect(frameOf(r)).toBe('↑ k PgUp pause · End F follow · w wrap · ? help · q quit');
  });

  it('the same table drives handling', () => {
    const key = (patch: Partial<Key>): Key => ({upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false,
      pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false,
      delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false, ...patch});
    expect(matchKey('', key({downArrow: true}), 'menu')).toBe('down');
    expect(matchKey('j', key({}), 'menu')).toBe('down');
    expect(matchKey('2', key({}), 'menu')).toBeUndefined();
    expect(matchKey('F', key({shift: true}), 'log')).toBe('follow');
    expect(matchKey('f', key({}), 'log')).toBe('filter');
    expect(matchKey('c', key({ctrl: true}), ['log', 'global'])).toBe('interrupt');
    expect(matchKey('q', key({}), 'menu')).toBeUndefined();
  });

  it('KeyHelp lists every key of the scopes and closes on Esc', async () => {
    const onClose = vi.fn();
    const r = render(<KeyHelp scopes={['log', 'global']} width={80} height={30} onClose={onClose} />);
    await tick();
    const text = frameOf(r);
    for (const b of KEYMAP.filter((k) => k.scope === 'log' || k.scope === 'global')) {
      expect(text).toMatch(new RegExp(`${keyLabel(b).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+${b.description.replace(/[()/]/g, '\\$&')}`));
    }
    await press(r.stdin, ESC);
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});

// ---- NO_COLOR / ASCII ---------------------------------------------------------------------------

describe('plain mode (NO_COLOR, --no-color, TERM=dumb)', () => {
  it('is detected from the environment and flags', () => {
    expect(detectThemeMode({NO_COLOR: '1'}, [])).toEqual({color: false, ascii: true});
    expect(detectThemeMode({NO_COLOR: ''}, [])).toEqual({color: true, ascii: false});
    expect(detectThemeMode({TERM: 'dumb'}, [])).toEqual({color: false, ascii: true});
    expect(detectThemeMode({}, ['node', 'cli', '--no-color'])).toEqual({color: false, ascii: true});
  });

  const screens = () => {
    const {store} = storeWithRun({status: 'failed', exitCode: 2, endedAt: 4_000, progress: 0.3}, 5);
    const provider = arrayProvider(['boot ok', 'ERROR: TDX module missing', 'plain line']);
    return (
      <>
        <StepList steps={STEPS} width={80} now={22_000} />
        <OutputPane store={store} width={80} height={6} />
        <Menu items={ITEMS} onSelect={() => {}} width={80} isActive={false} />
        <LogPane source={provider} version={1} width={80} height={4} hintFor={errorHint} isActive={false} />
        <HelpBar scopes={['menu', 'global']} width={80} />
        <TypedConfirm title="Erase" lines={['all']} expected="x.qcow2" onConfirm={() => {}} onCancel={() => {}} width={80} isActive={false} />
      </>
    );
  };

  it('colour mode really colours (so the plain assertions below mean something)', () => {
    const r = render(screens());
    expect(r.lastFrame()).toContain('\u001B[');
  });

  it('renders no escape codes and only ASCII', () => {
    setPlain(true);
    const r = render(screens());
    const frame = r.lastFrame() ?? '';
    expect(frame).not.toContain('\u001B[');
    expect(frame).toMatch(/^[\x20-\x7e\n]*$/);
    for (const glyph of ['[ok] Host checks', '[*]  Format ext4', '[ ]  Set label', '[-]  Verify | not needed', '[x]  Launch', '[x] $ mkfs.ext4', '[x]    ERROR: TDX',
      '> First-time setup', '[!] destructive', '[######']) {
      expect(frame).toContain(glyph);
    }
    expect(frame).toContain('Up/Down j k move | Enter select');
    expect(frame).toContain('Type x.qcow2 and press Enter to confirm.');
  });

  it('truncates with ASCII dots', () => {
    setPlain(true);
    expect(fit('abcdefghij', 6)).toBe('abc...');
    setPlain(false);
    expect(fit('abcdefghij', 6)).toBe('abcde…');
  });
});

// ---- LogPane -----------------------------------------------------------------------------------

function arrayProvider(lines: string[]): ArraySource {
  return new ArraySource(lines);
}
const errorHint = (line: string) => (/error/i.test(line) ? {severity: 'error' as const, title: 'the guest reported an error'} : undefined);

describe('LogPane', () => {
  const make = (n: number) => Array.from({length: n}, (_, i) => `serial ${i}${i % 10 === 7 ? ' tdx_guest ready' : ''}`);

  it('follows the end, pauses on scroll with a new-lines badge, and End resumes', async () => {
    const provider = arrayProvider(make(100));
    const r = render(<LogPane source={provider} version={0} width={80} height={6} title="Serial" />);
    await tick();
    let rows = rowsOf(r);
    expect(rows).toHaveLength(6);
    expect(rows[4]).toContain('serial 99');
    expect(rows[5]).toContain('following');

    await press(r.stdin, UP, UP);
    expect(rowsOf(r)[4]).toContain('serial 97');
    provider.data.push('serial 100', 'serial 101', 'serial 102');
    r.rerender(<LogPane source={provider} version={1} width={80} height={6} title="Serial" />);
    await tick();
    rows = rowsOf(r);
    expect(rows[4]).toContain('serial 97'); // paused: the view does not move
    expect(rows[5]).toContain('paused');
    expect(rows[5]).toContain('3 new lines');

    await press(r.stdin, END);
    rows = rowsOf(r);
    expect(rows[4]).toContain('serial 102');
    expect(rows[5]).toContain('following');
    expect(rows[5]).not.toContain('new lines');
  });

  it('searches with / and moves between matches with n/N', async () => {
    const provider = arrayProvider(make(200));
    const r = render(<LogPane source={provider} version={0} width={80} height={6} />);
    await tick();
    await press(r.stdin, '/', ...'tdx_guest', ENTER);
    let frame = frameOf(r);
    expect(frame).toContain('❯ serial 197 tdx_guest ready');
    expect(frame).toContain('/tdx_guest');
    await press(r.stdin, 'N');
    expect(frameOf(r)).toContain('❯ serial 187 tdx_guest ready');
    await press(r.stdin, 'N', 'N');
    frame = frameOf(r);
    expect(frame).toContain('❯ serial 167 tdx_guest ready');
    expect(frame).toContain('paused');
    await press(r.stdin, 'n');
    expect(frameOf(r)).toContain('❯ serial 177 tdx_guest ready');
  });

  it('takes a search typed in one burst (keys before any re-render)', async () => {
    const provider = arrayProvider(make(200));
    const r = render(<LogPane source={provider} version={0} width={80} height={6} />);
    await tick();
    r.stdin.write('/');
    for (const ch of 'nN tdx') r.stdin.write(ch);
    await tick();
    expect(frameOf(r)).toContain('/nN tdx');
    await press(r.stdin, ESC);
    expect(frameOf(r)).toContain('following');
  });

  it('filters with & (only matching lines) and Esc clears the filter', async () => {
    const provider = arrayProvider(make(200));
    const r = render(<LogPane source={provider} version={0} width={80} height={6} />);
    await tick();
    await press(r.stdin, '&', ...'ready', ENTER);
    let rows = rowsOf(r);
    expect(rows.slice(0, 5).map((row) => row.trim())).toEqual([157, 167, 177, 187, 197].map((n) => `serial ${n} tdx_guest ready`));
    expect(rows[5]).toContain('filter /ready/');

    await press(r.stdin, ESC);
    rows = rowsOf(r);
    expect(rows[4]).toContain('serial 199');
    expect(rows[5]).not.toContain('filter');
  });

  it('marks known lines with a glyph and names the hint', async () => {
    const provider = arrayProvider(['boot', 'ERROR: TDX module not loaded', 'more']);
    const r = render(<LogPane source={provider} version={0} width={80} height={5} hintFor={errorHint} />);
    await tick();
    const frame = frameOf(r);
    expect(frame).toMatch(/✖\s+ERROR: TDX module not loaded/);
    expect(frame).not.toContain('the guest reported an error'); // the hint is the screen's, above the pane
    // In colour, the known line is red, the others plain, and no colour runs into the next row.
    const raw = (r.lastFrame() ?? '').split('\n');
    expect(raw[1]).toMatch(/\u001B\[31m.*ERROR: TDX module not loaded/);
    expect(raw[0]).toBe(`${' '.repeat(raw[0]!.indexOf('boot'))}boot`);
    expect(raw[2]).not.toContain('\u001B[31m');
  });

  it('shows a search match in inverse video, and no codes at all without colour', async () => {
    const provider = arrayProvider(['boot', 'cache volume verified', 'more']);
    const r = render(<LogPane source={provider} version={0} width={80} height={5} />);
    await tick();
    r.stdin.write('/');
    await tick();
    r.stdin.write('volume');
    await tick();
    r.stdin.write(ENTER);
    await tick();
    expect(r.lastFrame()).toMatch(/cache \u001B\[7mvolume\u001B\[(?:0|27)m verified/);
    setPlain(true);
    const plain = render(<LogPane source={provider} version={0} width={80} height={5} hintFor={errorHint} />);
    await tick();
    expect(plain.lastFrame()).not.toContain('\u001B[');
  });
});

// ---- Table, Frame, store hook ------------------------------------------------------------------

describe('Table', () => {
  it('truncates cells so every row fits the width', () => {
    const rows = [
      {dev: '/dev/nbd0', state: 'connected', image: '/var/lib/tdx/very/long/path/to/cache-host-with-a-long-name.qcow2'},
      {dev: '/dev/nbd1', state: 'free', image: ''},
    ];
    const r = render(<Table columns={[{key: 'dev', title: 'Device'}, {key: 'state', title: 'State'}, {key: 'image', title: 'Image'}]} rows={rows} width={50} />);
    const lines = rowsOf(r);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^Device\s+State\s+Image/);
    expect(lines[1]).toContain('/dev/nbd0  connected');
    expect(lines[1]).toContain('…');
    for (const line of lines) expect(textWidth(line)).toBeLessThanOrEqual(50);
  });
});

describe('Frame', () => {
  it('is always shorter than the terminal', () => {
    for (const rows of [1, 2, 3, 4, 5, 10, 24, 50]) {
      for (const columns of [40, 79, 80, 120]) {
        const layout = frameLayout(columns, rows, {side: true, compactSide: true});
        expect(layout.total).toBeLessThan(Math.max(1, rows));
        if (rows >= 2) expect(layout.body.height).toBeGreaterThanOrEqual(1);
      }
    }
  });

  const screen = (columns: number, rows: number) => (
    <Frame title="tdx-wizard · First-time setup" columns={columns} rows={rows} scopes={['menu', 'global']}
      messages={[{level: 'warn', text: 'nbd module not loaded'}]}
      side={({width, height}) => <StepList steps={STEPS} width={width} height={height} compact={false} now={22_000} />}
      compactSide={(width) => <StepList steps={STEPS} width={width} compact now={22_000} />}>
      {({width, height}) => <Text>{`body ${width}x${height}`}</Text>}
    </Frame>
  );

  it('lays out title, side pane, body, message and help bar at 100x24', () => {
    const r = render(screen(100, 24));
    const rows = rowsOf(r);
    expect(rows).toHaveLength(23);
    expect(rows[0]).toContain('tdx-wizard · First-time setup');
    expect(rows[1]).toMatch(/^✔ Host checks.*│body 66x20/);
    expect(rows[21]).toContain('▲ nbd module not loaded');
    expect(rows[22]).toContain('↑↓ j k move · Enter select');
    for (const row of rows) expect(textWidth(row)).toBeLessThanOrEqual(100);
  });

  it('gives a message that does not fit on one row a second, whole, and the body gives up that row', () => {
    const text = '/srv has 72.0 GiB free but the volume can grow to 5000G (4.88 TiB); the VM fails with I/O errors when the host disk fills up';
    const long = (rows: number) => (
      <Frame title="t" columns={100} rows={rows} scopes={['menu', 'global']} messages={[{level: 'warn', text}]}>
        {({width, height}) => <Text>{`body ${width}x${height}`}</Text>}
      </Frame>
    );
    const r = render(long(24));
    const rows = rowsOf(r);
    expect(rows).toHaveLength(23);
    expect(rows[1]).toBe('body 100x19');
    expect(`${rows[20]} ${rows[21]}`.replace(/\s+/g, ' ')).toBe(`▲ ${text}`);
    expect(rows[21]).toMatch(/^ {2}\S/); // the second row hangs under the text
    for (const row of rows) expect(textWidth(row)).toBeLessThanOrEqual(100);
    const small = rowsOf(render(long(8))); // no room to spare: one row, cut
    expect(small).toHaveLength(7);
    expect(small[5]).toMatch(/^▲ \/srv has .*…$/);
  });

  it('collapses the side pane to one row under 80 columns', () => {
    const r = render(screen(60, 12));
    const rows = rowsOf(r);
    expect(rows).toHaveLength(11);
    expect(rows[1]).toBe('● Step 3/6: Format ext4 · 12 s');
    expect(rows[2]).toBe('body 60x7');
    expect(frameOf(r)).not.toContain('Host checks');
  });
});

describe('useStoreState', () => {
  it('re-renders on the selected slice only', async () => {
    const store = createAppStore();
    let renders = 0;
    function Steps() {
      renders++;
      const steps = useStoreState(store, (s) => s.steps);
      const [label] = useState('steps');
      return <Text>{`${label}: ${steps.map((s) => s.title).join(',')}`}</Text>;
    }
    const r = render(<Steps />);
    await tick();
    setSteps(store, 'Setup', [{id: 'a', title: 'A', status: 'pending'}]);
    await tick();
    expect(frameOf(r)).toBe('steps: A');
    const before = renders;
    store.setState((s) => ({outputTick: s.outputTick + 1}));
    await tick();
    expect(renders).toBe(before);
  });
});
