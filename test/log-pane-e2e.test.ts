// The serial log pane as an operator uses it (`tdx-wizard logs --follow` in a terminal), measured
// against less +F and lnav: pause holds while a log grows at 50,000 lines/s, the first line of a
// 1 GB log and a line of its first megabyte are reachable in bounded memory, filters, wrapping,
// a VM restart, and back to the shell. At 80x24 and at 60x20, reading the screen.
import {spawn, type ChildProcess} from 'node:child_process';
import {appendFileSync, closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {startPty, type PtyRun} from './helpers/pty.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let run: PtyRun | undefined;
let writer: ChildProcess | undefined;
let big: string;
const FIRST_MB_LINE = 'early boot: tdx-first-megabyte-line here';

beforeAll(() => {
  tmp = tempDir('tdxw-logpane-');
  // A 1 GiB serial log, quickly: a first megabyte of its own, then one 8 MiB block written 127 times.
  big = join(tmp.path, 'big.log');
  const fd = openSync(big, 'w');
  const head = Array.from({length: 20_000}, (_, i) => (i === 5000 ? FIRST_MB_LINE : `[    0.${String(i).padStart(6, '0')}] kernel: head line ${i}`)).join('\n');
  writeSync(fd, `the very first line of the file\n${head}\n`);
  const block = Buffer.from(Array.from({length: 160_000}, (_, i) => `[   12.${String(i).padStart(6, '0')}] systemd[1]: Started unit number ${i} of the boot.`).join('\n') + '\n');
  for (let k = 0; k < 127; k++) writeSync(fd, block);
  writeSync(fd, 'the very last line\n');
  closeSync(fd);
}, 120_000);
afterEach(async () => {
  writer?.kill();
  writer = undefined;
  if (run) {
    run.kill('SIGTERM');
    await run.exited().catch(() => undefined);
    run = undefined;
  }
});
afterAll(() => tmp.remove());

function env(dir: string): NodeJS.ProcessEnv {
  return {TDX_WIZARD_STATE_DIR: join(dir, 'state'), TDX_WIZARD_CONFIG_DIR: join(dir, 'config'), TDX_WIZARD_PID_FILE: join(dir, 'none.pid'), TDX_WIZARD_SERIAL_LOG: join(dir, 'unused.log')};
}

/** The wizard's process (the node running the CLI on `file`): its peak RSS in bytes. */
function peakRss(file: string): number {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd.includes('logs') && cmd.includes(file)) return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no process follows ${file}`);
}

/** Appends serial lines at `rate` lines a second until killed. */
function grow(file: string, rate: number): ChildProcess {
  const script = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'a');let n=0;const t0=Date.now();
setInterval(()=>{const due=Math.floor((Date.now()-t0)*${rate}/1000);let s='';for(;n<due;n++)s+='[  100.'+n+'] flood: line '+n+' of a chatty guest\\n';if(s)fs.writeSync(fd,s);},10);`;
  return spawn(process.execPath, ['-e', script, file], {stdio: 'ignore'});
}

const SIZES = [
  [80, 24],
  [60, 20],
] as const;

describe.each(SIZES)('the log pane at %ix%i', (cols, rows) => {
  const open = (file: string) => {
    run = startPty([CLI, 'logs', '--follow', '--file', file], {cwd: tmp.path, env: env(tmp.path), cols, rows});
    return run;
  };

  it('pause holds still while the log grows at 50,000 lines/s; the badge counts in plain English; End follows; g reaches the first line; a search finds it', async () => {
    const file = join(tmp.path, `flood-${cols}.log`);
    writeFileSync(file, `first line of the boot\n${Array.from({length: 300}, (_, i) => `boot line ${i}`).join('\n')}\n`);
    const r = open(file);
    await r.waitFor('boot line 299');
    await r.press('Up');
    await r.waitFor('paused');
    appendFileSync(file, 'one more line\n');
    await r.waitFor('1 new line ');
    appendFileSync(file, 'and another\n');
    await r.waitFor('2 new lines');
    writer = grow(file, 50_000);
    await r.waitFor(/[0-9,]{5,} new lines/, 20_000);
    const body = () => r.screen().split('\n').filter((row) => !row.includes('paused')).join('\n'); // all but the badge's row
    const held = body();
    expect(held).toContain('boot line 298');
    await new Promise((res) => setTimeout(res, 600));
    expect(body()).toBe(held); // not moved by the flood
    await r.press('g');
    await r.waitFor('first line of the boot');
    await r.press('/');
    await r.type('boot line 7$');
    await r.press('Enter');
    await r.waitFor(/❯ +boot line 7$/m);
    await r.press('End');
    await r.waitFor((s) => s.includes('following') && /flood: line \d+/.test(s));
    writer.kill();
    await r.press('Escape'); // clears the search
    await r.waitFor((s) => !s.includes('/boot line'));
    await r.press('Escape');
    expect(await r.exited()).toBe(0);
  }, 60_000);

  it('a 1 GB log: the first line, a line of the first megabyte, filters and severity, in bounded memory', async () => {
    const r = open(big);
    await r.waitFor('the very last line');
    await r.press('g');
    await r.waitFor('the very first line of the file');
    await r.press('End');
    await r.waitFor('following');
    await r.press('/');
    await r.type('tdx-first-megabyte');
    await r.press('Enter');
    await r.waitFor('tdx-first-megabyte-line', 60_000);
    await r.press('Escape');
    await r.waitFor((s) => !s.includes('/tdx-first'));
    await r.press('&');
    await r.type('head line 1999[0-9]$');
    await r.press('Enter');
    await r.waitFor('head line 19999', 60_000);
    expect(r.screen()).not.toContain('Started unit');
    await r.press('Escape');
    await r.waitFor((s) => !s.includes('filter /head'));
    await r.press('!');
    await r.type('Started unit');
    await r.press('Enter');
    await r.waitFor('hiding /Started unit/');
    await r.waitFor('head line 19999', 60_000);
    expect(r.screen()).toContain('head line 19999');
    await r.press('Escape');
    await r.waitFor((s) => !s.includes('hiding'));
    appendFileSync(big, 'kernel: ERROR: something failed here\n');
    await r.press('s');
    await r.waitFor('warnings and errors', 120_000);
    await r.waitFor('something failed here', 60_000);
    await r.press('s');
    await r.waitFor('errors only', 120_000);
    expect(r.screen()).not.toContain('Started unit');
    const rss = peakRss(big);
    console.log(`log pane ${cols}x${rows}, 1 GB log: peak RSS ${(rss / 2 ** 20).toFixed(0)} MB`);
    expect(rss).toBeLessThan(200 * 1024 * 1024);
    await r.press('q');
    expect(await r.exited()).toBe(0);
  }, 240_000);

  it('a 1 GB log: a search that finds nothing shows how far it has come and keys work meanwhile; Esc stops a search under way', async () => {
    const r = open(big);
    await r.waitFor('the very last line');
    await r.press('/');
    await r.type('nowhere-at-all');
    await r.press('Enter');
    // Frames go on while the gigabyte is scanned (before, the pane froze until the scan ended).
    await r.waitFor(/searching \/nowhere-at-all: \d+%/);
    await r.waitFor('no earlier match for "nowhere-at-all"', 120_000);
    // N searches the gigabyte again, and an Esc right behind it stops the search under way.
    await r.press('N', 'Escape');
    await r.waitFor(/stopped searching \/nowhere-at-all/);
    await r.press('Escape'); // clears the search
    await r.waitFor((screen) => !screen.includes('/nowhere'));
    await r.press('q');
    expect(await r.exited()).toBe(0);
  }, 240_000);

  it('? and back keep the pane as it was: paused where it was, the search, the wrap, the hint above and the badge', async () => {
    const file = join(tmp.path, `help-${cols}.log`);
    writeFileSync(file, `${Array.from({length: 200}, (_, i) => `boot line ${i}`).join('\n')}\n[   40.0] reboot: Power down\n`);
    const r = open(file);
    await r.waitFor(/powered off/i);
    await r.press('g');
    await r.waitFor('boot line 0');
    await r.press('/');
    await r.type('boot line 4$');
    await r.press('Enter');
    await r.waitFor(/❯ +boot line 4$/m);
    await r.press('w');
    await r.waitFor('wrapping');
    appendFileSync(file, 'one more line\n');
    await r.waitFor('1 new line ');
    const before = r.screen();
    await r.press('?');
    await r.waitFor('Log pane');
    appendFileSync(file, 'and another\n'); // arrives while the help is open
    await r.press('Escape');
    await r.waitFor('2 new lines');
    const after = r.screen();
    expect(after).toMatch(/❯ +boot line 4$/m);
    expect(after).toMatch(/powered off/i);
    // The same lines in the same place; the status row keeps the search and the wrap, and counts one more.
    const body = (screen: string) => screen.split('\n').filter((row) => !row.includes('paused')).join('\n');
    expect(body(after)).toBe(body(before));
    expect(after).toMatch(/paused ▼ 2 new lines \(End\/F follows\) · \/boot line 4\$ · w/);
    await r.press('End');
    await r.waitFor('and another');
    await r.press('q');
    expect(await r.exited()).toBe(0);
  }, 60_000);

  it('long lines wrap on w (shown in the help bar), ? opens the key help, and a VM restart resets the hint above', async () => {
    const file = join(tmp.path, `wrap-${cols}.log`);
    writeFileSync(file, `short line\n${'x'.repeat(150)}TAIL-OF-LONG-LINE\n[   40.0] reboot: Power down\n`);
    const r = open(file);
    await r.waitFor('short line');
    await r.waitFor(/w wrap/);
    expect(r.screen()).not.toContain('LONG-LINE');
    await r.press('w');
    await r.waitFor('LONG-LINE');
    await r.press('?');
    await r.waitFor('Log pane');
    expect(r.screen()).toContain('wrap');
    await r.press('Escape');
    await r.waitFor('short line');
    // The hint above names the power-down; a new boot (the log truncated) clears it.
    await r.waitFor(/powered off/i);
    writeFileSync(file, 'a new boot begins\n');
    await r.waitFor('VM restarted');
    expect(r.screen()).not.toMatch(/powered off/i);
    await r.waitFor('a new boot begins');
    await r.press('Escape');
    expect(await r.exited()).toBe(0);
  }, 60_000);
});
