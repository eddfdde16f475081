// Self-test of the pty harness: a tiny Ink program in a real pseudo-terminal, driven by keys,
// resized, and read back from the emulated screen.
import {resolve} from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {startPty, type PtyRun} from './helpers/pty.js';

const DEMO = resolve(import.meta.dirname, 'fixtures/pty-demo.mjs');
let run: PtyRun | undefined;

afterEach(() => {
  run?.kill('SIGKILL');
  run = undefined;
});

describe('pty harness', () => {
  it('draws frames, takes keys and typed text, follows a resize and reports the exit code', async () => {
    // CI=true here must not reach the child: Ink would then draw only its last frame.
    run = startPty([DEMO], {cols: 80, rows: 12, env: {CI: 'true'}});
    await run.waitFor('size 80x12');
    await run.waitFor('pty demo ci=false term=xterm-256color');

    await run.press('Down');
    await run.waitFor('count=1');
    await run.press('Down');
    await run.waitFor('count=2');
    await run.type('nbd0', {echo: true});
    await run.waitFor('text=[nbd0]');

    run.resize(60, 12);
    await run.waitFor('size 60x12');
    const rule = run.screen().split('\n').find((line) => line.startsWith('===='));
    expect(rule?.length).toBeLessThanOrEqual(60);

    await run.press('Enter');
    expect(await run.exited()).toBe(2);
  });

  it('Ctrl+C reaches the program as a key (exit 130); waitFor and exited explain a timeout', async () => {
    run = startPty([DEMO], {cols: 70, rows: 10});
    await run.waitFor(/size 70x10/);
    await expect(run.waitFor('never shown', 200)).rejects.toThrow(/timed out after 200 ms; screen:\n.*pty demo/s);
    await expect(run.exited(200)).rejects.toThrow(/still running 200 ms after it was asked to leave; screen:\n.*pty demo/s);
    await run.press('C-c');
    expect(await run.exited()).toBe(130);
  });
});
