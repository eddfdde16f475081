// After Ctrl-C or SIGTERM every command is refused, except cleanup commands (flush, disconnect):
// they must still run so an attached device is detached. (A file of its own: it aborts the
// process-wide stop signal.)
import {describe, expect, it} from 'vitest';
import {abortAll} from '../src/cleanup.js';
import {Cancelled} from '../src/errors.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';

describe('runner after a stop signal', () => {
  it('refuses ordinary commands and still runs cleanup commands', async () => {
    const runner = new Runner({store: createAppStore()});
    abortAll('SIGTERM in a test');
    await expect(runner.run({cmd: 'true', args: []})).rejects.toBeInstanceOf(Cancelled);
    const r = await runner.run({cmd: 'echo', args: ['disconnected'], cleanup: true, capture: true});
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('disconnected\n');
  });
});
