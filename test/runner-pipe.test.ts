// The runner's output pipes (src/runner/pipe.ts): a real FIFO read by polling, the same
// end-of-output rule as Node's own pipes, and Node's pipes where no FIFO can be made.
import {execFileSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {Runner, type RunnerEvent} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {tempDir} from './helpers/tools.js';

const raws = (runner: Runner) => {
  const seen: string[] = [];
  runner.subscribe((e: RunnerEvent) => e.type === 'raw' && e.stream === 'out' && seen.push(e.text));
  return seen;
};
// The FIFOs are made under TMPDIR: a private one per test, so that other test files' runs don't count.
let tmp: ReturnType<typeof tempDir>;
const pipeDirs = () => readdirSync(tmp.path).filter((name) => name.startsWith('tdxw-pipe-'));
const saved = {PATH: process.env.PATH, TMPDIR: process.env.TMPDIR};
beforeEach(() => {
  tmp = tempDir();
  process.env.TMPDIR = tmp.path;
});
afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  tmp.remove();
});

describe('runner output pipes', () => {
  it("gives the child a pipe (not Node's socket pair) for stdout and stderr, and leaves no FIFO behind", async () => {
    const runner = new Runner({store: createAppStore()});
    const r = await runner.run({cmd: 'sh', args: ['-c', 'stat -L -c %F /proc/$$/fd/1; stat -L -c %F /proc/$$/fd/2 >&2'], capture: true});
    expect(r.stdout).toBe('fifo\n');
    expect(r.tail).toEqual(['fifo', 'fifo']);
    expect(pipeDirs()).toEqual([]);
  });

  it('reads output that comes after a long quiet spell, and every line of a large burst, in order', async () => {
    const store = createAppStore();
    const runner = new Runner({store});
    const r = await runner.run({cmd: 'sh', args: ['-c', 'sleep 0.4; echo late; seq 1 200000'], capture: true});
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('late');
    expect(lines.length).toBe(200_002); // late, 1..200000, and the empty string after the last newline
    expect(lines[200_000]).toBe('200000');
    expect(store.getState().runs[0]!.lines.total).toBe(200_001);
  });

  it('decodes a character split across two writes once, whole, for the transcript and the lines', async () => {
    const runner = new Runner({store: createAppStore()});
    const seen = raws(runner);
    // "é" is c3 a9: the two bytes arrive in two reads, 300 ms apart.
    const r = await runner.run({cmd: 'sh', args: ['-c', "printf 'caf\\303'; sleep 0.3; printf '\\251\\n'"], capture: true});
    expect(seen.join('')).toBe('café\n');
    expect(r.stdout).toBe('café\n');
    expect(r.tail).toEqual(['café']);
  });

  it('waits, as Node does, for a process the command left behind that still holds its output', async () => {
    const runner = new Runner({store: createAppStore()});
    const started = Date.now();
    const r = await runner.run({cmd: 'sh', args: ['-c', '(sleep 0.5; echo from-the-child) & echo parent-done'], capture: true});
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(r.stdout).toBe('parent-done\nfrom-the-child\n');
  });

  it("uses Node's own pipes, with the same result, where mkfifo cannot be run", async () => {
    process.env.PATH = '/nonexistent';
    const runner = new Runner({store: createAppStore()});
    const r = await runner.run({cmd: '/bin/sh', args: ['-c', '/usr/bin/stat -L -c %F /proc/$$/fd/1; echo err >&2'], capture: true});
    expect(r.stdout).toBe('socket\n');
    expect(r.tail).toContain('err');
  });

  it('reports a missing program as before, and leaves no FIFO behind', async () => {
    const runner = new Runner({store: createAppStore()});
    await expect(runner.run({cmd: 'surely-not-a-program-tdxw', args: []})).rejects.toThrow(/was not found/);
    expect(pipeDirs().length).toBe(0);
  });

  it('makes the FIFOs of four commands with one mkfifo; each command gets its own, and no child inherits the spare ones', async () => {
    const log = join(tmp.path, 'mkfifo.log');
    writeFileSync(join(tmp.path, 'mkfifo'), `#!/bin/sh\necho "$#" >> '${log}'\nexec /usr/bin/mkfifo "$@"\n`, {mode: 0o755});
    process.env.PATH = `${tmp.path}:${saved.PATH}`;
    const runner = new Runner({store: createAppStore()});
    const outputs: string[] = [];
    for (let i = 1; i <= 5; i++) {
      // Each shell counts its descriptors open on one of our FIFOs: its stdout and stderr, none of the stock.
      const r = await runner.run({cmd: 'sh', args: ['-c', `echo run-${i}; ls -l /proc/$$/fd | grep -c tdxw-pipe-`], capture: true});
      outputs.push(r.stdout);
    }
    expect(outputs).toEqual([1, 2, 3, 4, 5].map((i) => `run-${i}\n2\n`));
    // Two calls of 2 options + 8 FIFOs each: four commands' worth, then four more for the fifth.
    expect(readFileSync(log, 'utf8')).toBe('10\n10\n');
    expect(pipeDirs()).toEqual([]);
  });
});

describe('FIFO directories a killed run left', () => {
  /** A directory as openOutputPipes makes it, with its FIFOs, `age` seconds old. */
  const leftover = (name: string, age = 0) => {
    const path = join(tmp.path, name);
    mkdirSync(path, {mode: 0o700});
    execFileSync('mkfifo', ['-m', '600', join(path, '0'), join(path, '1')]);
    const when = Date.now() / 1000 - age;
    utimesSync(path, when, when);
    return path;
  };

  it("are removed by the next run: a dead run's, and any a minute old; a live run's new one is left alone", async () => {
    const dead = leftover('tdxw-pipe-99999999-aaaaaa');
    const old = leftover('tdxw-pipe-bbbbbb', 120); // named before the pid was in the name
    const live = leftover(`tdxw-pipe-${process.ppid}-cccccc`);
    const notOurs = join(tmp.path, 'tdxw-pipe-other');
    writeFileSync(notOurs, 'a file, not a directory the runner made');
    const runner = new Runner({store: createAppStore()});
    await runner.run({cmd: 'true', args: []});
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(notOurs)).toBe(true);
  });

  it('name the pid of the run that makes them', async () => {
    const runner = new Runner({store: createAppStore()});
    const seen = namesDuring(tmp.path, () => runner.run({cmd: 'true', args: []}));
    expect(await seen).toContain(`tdxw-pipe-${process.pid}-`);
  });
});

/** The names that appear in `dir` while `work` runs (a poll every millisecond). */
async function namesDuring(dir: string, work: () => Promise<unknown>): Promise<string> {
  const names = new Set<string>();
  const timer = setInterval(() => readdirSync(dir).forEach((n) => names.add(n)), 1);
  const {watch} = await import('node:fs');
  const watcher = watch(dir, (_e, name) => name && names.add(name));
  try {
    await work();
  } finally {
    clearInterval(timer);
    watcher.close();
  }
  return [...names].join(' ');
}
