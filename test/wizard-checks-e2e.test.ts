// Host checks as an operator reads them, in a pseudo-terminal at 80x24 and 60x20: failures first,
// every check reachable, the selected one in full (finding, fix as a whole command, evidence), and a
// help bar that lists only the keys that work on the screen as it is now.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {FAKE_BIN, FakeHost} from './helpers/fake-host.js';
import {startPty, type PtyRun} from './helpers/pty.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;
let host: FakeHost;

beforeAll(() => {
  tmp = tempDir('tdxw-checks-');
  // No nbd module and no TDX: at least two checks fail, and the nbd one has a fix the wizard can run.
  host = new FakeHost({module: 'missing', tdx: 'N', devices: 0});
});
afterEach(() => {
  run?.kill();
  run = undefined;
});
afterAll(async () => {
  await host.remove();
  tmp.remove();
});

function start(cols: number, rows: number): PtyRun {
  const dir = join(tmp.path, `${cols}x${rows}-${Date.now()}`);
  mkdirSync(dir);
  const env = {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), ...host.env, PATH: `${FAKE_BIN}:${process.env.PATH}`};
  return startPty([CLI], {cwd: dir, env, cols, rows});
}

/** The selected row (❯) of the screen. */
const selectedRow = (screen: string) => screen.split('\n').find((l) => /^\s*❯/.test(l));

/** Presses the key and waits for the frame that moved the selection: the row now selected, or undefined when it did not move. */
async function move(key: 'Up' | 'Down'): Promise<string | undefined> {
  const before = selectedRow(run!.screen());
  await run!.press(key);
  try {
    await run!.waitFor((screen) => selectedRow(screen) !== before, 6000);
  } catch {
    return undefined;
  }
  return selectedRow(run!.screen());
}

/** The rows of the screen between the summary and the help bar that name a check (a status glyph first). */
const checkRows = (screen: string) => screen.split('\n').filter((l) => /^\s*❯?\s*[✖⚠✔] /.test(l));

/** The list's last row is selected and nothing is hidden below it: Down has nowhere to go (read off the screen, not guessed from a key that moved nothing in time). */
const atEnd = (screen: string) => {
  const lines = screen.split('\n');
  const at = lines.findIndex((l) => /^\s*❯/.test(l));
  return at >= 0 && !/more below/.test(lines[at]!) && (lines[at + 1] ?? '').trim() === '';
};

describe.each([
  [80, 24],
  [60, 20],
])('host checks at %ix%i', (cols, rows) => {
  it('failures come first, each check is reachable, the selected one is shown whole, and Enter opens it alone', async () => {
    run = start(cols, rows);
    await run.waitFor('First-time setup');
    await run.press('Enter');
    await run.waitFor(/❯ Continue to the guest era/);
    await run.waitFor(/checks? failed/);
    // The bar follows the keys that joined with the list (a frame after it: wait for it, as an eye does).
    await run.waitFor(/Enter select · Esc back/);
    const first = run.screen();
    // The summary names the failures and the first failing check is on screen, right under the actions.
    const listed = checkRows(first);
    expect(listed.length).toBeGreaterThan(0);
    expect(listed[0]).toContain('✖');
    // The detail below shows the first failure's finding (not cut with an ellipsis at the edge).
    expect(first).toMatch(/finding: /);
    // The help bar promises only menu keys and the global letters.
    const bar = first.split('\n').filter((l) => l.trim()).at(-1)!;
    expect(bar).toMatch(/Enter select/);
    expect(bar).not.toMatch(/confirm|next field/);

    // Walk down through every item: the list scrolls, and each check is selected once. Each key is
    // judged on the frame it drew (a stale frame under load would credit one key with the next's move).
    const seen = new Set<string>();
    // The end is read off the screen, not guessed from a key that did not move anything in time.
    for (let i = 0; i < 40 && !atEnd(run.screen()); i++) {
      const selected = await move('Down');
      if (selected && /[✖⚠✔] /.test(selected)) seen.add(selected.replace(/\s+\(\d+ more (above|below)\)\s*$/, '').trim());
    }
    expect(atEnd(run.screen())).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(5);
    // Back to the top, then down to the first check and open it alone.
    for (let i = 0; i < 40 && !/❯ Continue to the guest era/.test(run.screen()); i++) await move('Up');
    await run.waitFor(/❯ Continue to the guest era/);
    let opened = false;
    for (let i = 0; i < 5 && !opened; i++) opened = /^\s*❯\s*✖ /.test((await move('Down')) ?? '');
    expect(opened).toBe(true);
    await run.press('Enter');
    await run.waitFor('Back to the checks');
    const alone = run.screen();
    expect(alone).toMatch(/✖ fail {2}\S/);
    expect(alone).not.toContain('…'); // the whole finding, fix and evidence, wrapped, nothing cut
    await run.press('Escape');
    await run.waitFor(/❯ Continue to the guest era|❯\s*✖ /);
    await run.press('q');
    expect(await run.exited()).toBe(0);
  }, 60_000);
});

describe('the help bar lists the keys that work now', () => {
  it('a typed confirmation shows its own keys, not the menu it replaced; ? lists the screen\'s keys', async () => {
    const busy = new FakeHost({devices: [{state: 'connected', image: '/srv/volumes/cache.qcow2'}]});
    try {
      const dir = join(tmp.path, 'bar');
      mkdirSync(dir);
      run = startPty([CLI], {cwd: dir, env: {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), ...busy.env, PATH: `${FAKE_BIN}:${process.env.PATH}`}, cols: 100, rows: 30});
      await run.waitFor('First-time setup');
      await run.waitFor(/↑↓ j k move · Enter select · Esc back · \? help · q quit/);
      await run.press('?');
      await run.waitFor('Menus');
      expect(run.screen()).not.toMatch(/Confirmations|Text fields|Log pane/);
      await run.press('Escape');
      await run.waitFor('First-time setup');
      await run.press('Down');
      await run.waitFor(/❯ Troubleshoot NBD/);
      await run.press('Enter');
      await run.waitFor(/❯ Detach .*nbd0 \(connected\)/);
      await run.press('Enter');
      await run.waitFor(/Type \S+ and press Enter/);
      // The confirmation's keys only: no menu keys, and no q or ? (the field takes letters).
      await run.waitFor(/Enter confirm \(only the exact text\) · Esc cancel\s*$/m);
      const bar = run.screen().split('\n').filter((l) => l.trim()).at(-1)!;
      expect(bar).not.toMatch(/move|select|help|quit/);
      await run.press('Escape');
      await run.waitFor(/❯ Detach/);
      await run.waitFor(/↑↓ j k move · Enter select · Esc back/);
      await run.press('C-c');
      expect(await run.exited()).toBe(130);
    } finally {
      run?.kill();
      await busy.remove();
    }
  }, 60_000);
});

describe('q is never an accident', () => {
  it('a pasted text never quits; q after typing into a form asks first, and any other key stays', async () => {
    run = start(100, 30);
    await run.waitFor('First-time setup');
    await run.waitFor(/Enter select · Esc back · \? help · q quit/);
    await run.press('/srv/quick-qemu.qcow2'); // one write: a paste, q and all
    await new Promise((r) => setTimeout(r, 400));
    expect(run.screen()).toContain('First-time setup'); // still here
    // Type into the launch form, then leave it for the VM screen (a menu, where q is a letter again).
    for (let i = 0; i < 4; i++) await run.press('Down');
    await run.waitFor(/❯ Launch \/ status \/ stop the VM/);
    await run.press('Enter');
    await run.waitFor(/❯ Launch the VM/);
    await run.press('Enter');
    await run.waitFor(/❯ Launcher/);
    await run.type('x');
    await run.press('Escape');
    await run.waitFor(/❯ Launch the VM/);
    await run.waitFor(/q quit/);
    await run.press('q');
    await run.waitFor('Press q again to quit, any other key to stay');
    await run.press('j'); // stays, and the question goes
    await run.waitFor((screen) => !screen.includes('Press q again'));
    await run.press('q');
    await run.waitFor('Press q again to quit');
    await run.press('q');
    expect(await run.exited()).toBe(0);
  }, 60_000);
});
