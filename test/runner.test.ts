import {MASK, maskText} from '../src/runner/mask.js';
import {existsSync, readFileSync, readdirSync} from 'node:fs';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {registerCleanup, runCleanups} from '../src/cleanup.js';
import {Cancelled, StepError} from '../src/errors.js';
import {Runner} from '../src/runner/runner.js';
import {Transcript} from '../src/runner/transcript.js';
import {createAppStore} from '../src/store.js';
import {tempDir} from './helpers/tools.js';

/** Live processes whose command line contains `needle`. */
function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) found.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return found;
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
  process.env.TDX_WIZARD_STATE_DIR = join(tmp.path, 'state');
});
afterEach(() => tmp.remove());

describe('runner', () => {
  it('records argv, output lines, exit code and times in the store', async () => {
    const store = createAppStore();
    const runner = new Runner({store});
    const result = await runner.run({cmd: 'sh', args: ['-c', 'echo one; echo two >&2; printf "50%%\\r100%%\\n"'], title: 'demo'});
    expect(result.exitCode).toBe(0);
    const run = store.getState().runs[0]!;
    expect(run.argv[0]).toBe('sh');
    expect(run.status).toBe('ok');
    // The two streams arrive in any order; within a stream, order is kept.
    expect(run.lines.last().filter((l) => l.stream === 'out')).toEqual([
      {stream: 'out', text: 'one'},
      {stream: 'out', text: '100%'},
    ]);
    expect(run.lines.last().filter((l) => l.stream === 'err')).toEqual([{stream: 'err', text: 'two'}]);
    expect(run.endedAt).toBeGreaterThanOrEqual(run.startedAt);
  });

  it('throws a StepError with the output tail on a bad exit code, unless told the code is fine', async () => {
    const runner = new Runner({store: createAppStore()});
    await expect(runner.run({cmd: 'sh', args: ['-c', 'echo broken >&2; exit 3'], title: 'breaks'})).rejects.toMatchObject({
      name: 'StepError',
      message: 'breaks failed (exit code 3)',
      output: ['broken'],
    });
    const ok = await runner.run({cmd: 'sh', args: ['-c', 'exit 2'], okExitCodes: [0, 2]});
    expect(ok.exitCode).toBe(2);
  });

  it('names the Debian package when a program is missing', async () => {
    const runner = new Runner({store: createAppStore(), env: {PATH: '/nonexistent'}});
    const error = await runner.run({cmd: 'qemu-img', args: ['--version']}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepError);
    expect((error as StepError).message).toBe('qemu-img was not found. Install it: apt-get install qemu-utils');
  });

  it('once it holds a secret, the process leaves its memory out of core dumps (and its children inherit that)', async () => {
    const runner = new Runner({store: createAppStore()});
    runner.addSecret('a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90');
    expect(Number.parseInt(readFileSync('/proc/self/coredump_filter', 'utf8'), 16)).toBe(0);
    const child = await runner.run({cmd: 'cat', args: ['/proc/self/coredump_filter'], title: 'the filter a child inherits'});
    expect(Number.parseInt(child.tail.at(-1) ?? '', 16)).toBe(0);
  });

  it('masks a hex seed in every spelling: any case, with or without 0x (a launcher printed it lower-cased)', () => {
    const seed = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';
    const line = `given ${seed}, printed ${seed.toLowerCase()}, as hex 0x${seed.toLowerCase()}, mixed ${seed.slice(0, 32)}${seed.slice(32).toLowerCase()}`;
    const masked = maskText(line, [seed]);
    expect(masked).toBe(`given ${MASK}, printed ${MASK}, as hex ${MASK}, mixed ${MASK}`);
    expect(maskText(`0X${seed}`, [`0x${seed.toLowerCase()}`])).toBe(MASK); // given with 0x, printed with 0X
    expect(maskText('a password Secret1 and secret1', ['Secret1'])).toBe(`a password ${MASK} and secret1`); // not hex: as given
  });

  it('masks secrets in argv, output and the transcript', async () => {
    const store = createAppStore();
    const runner = new Runner({store});
    const transcript = Transcript.open('mask-test');
    transcript.attach(runner);
    const secret = 'c0ffee'.repeat(10);
    runner.addSecret(secret);
    await runner.run({cmd: 'echo', args: [`--miner-seed=${secret}`]});
    transcript.close();
    const run = store.getState().runs[0]!;
    expect(run.argv.join(' ')).not.toContain(secret);
    expect(run.lines.last()[0]!.text).toBe('--miner-seed=********');
    const text = readFileSync(transcript.path, 'utf8');
    expect(text).not.toContain(secret);
    expect(text).toContain('--miner-seed=********');
  });

  it('runs nothing in dry-run mode but records the plan', async () => {
    const store = createAppStore();
    const runner = new Runner({store, dryRun: true});
    const marker = join(tmp.path, 'created');
    await runner.run({cmd: 'touch', args: [marker]});
    await runner.act('make a file', ['touch', marker], () => {
      throw new Error('must not run');
    });
    expect(existsSync(marker)).toBe(false);
    expect(store.getState().runs.map((r) => r.status)).toEqual(['planned', 'planned']);
  });

  it('cancels a running command: SIGTERM reaches the child and Cancelled is thrown', async () => {
    const runner = new Runner({store: createAppStore()});
    const controller = new AbortController();
    const running = runner.run({cmd: 'sleep', args: ['31.4159']}, {signal: controller.signal});
    await new Promise((r) => setTimeout(r, 200));
    expect(processesWith('sleep 31.4159')).toHaveLength(1);
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(Cancelled);
    expect(processesWith('sleep 31.4159')).toHaveLength(0);
    expect(runner.runningCount).toBe(0);
  });

  it('kills a child that ignores SIGTERM after the grace period', async () => {
    const runner = new Runner({store: createAppStore()});
    const controller = new AbortController();
    const running = runner.run({cmd: 'sh', args: ['-c', 'trap "" TERM; exec sleep 27.1828'], title: 'stubborn'}, {signal: controller.signal});
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(Cancelled);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(processesWith('sleep 27.1828')).toHaveLength(0);
  });
});

describe('cleanup registry', () => {
  it('runs cleanups last-registered first, once, and keeps going after a failing one', async () => {
    const order: string[] = [];
    registerCleanup('first', () => void order.push('first'));
    registerCleanup('broken', () => {
      order.push('broken');
      throw new Error('boom');
    });
    const unregister = registerCleanup('released', () => void order.push('released'));
    registerCleanup('last', async () => void order.push('last'));
    unregister();
    const errors: string[] = [];
    await runCleanups((name) => errors.push(name));
    await runCleanups();
    expect(order).toEqual(['last', 'broken', 'first']);
    expect(errors).toEqual(['broken']);
  });
});
