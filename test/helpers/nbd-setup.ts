// One fake host per test, with the stand-ins on PATH, a state directory of its own, and a runner.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {Runner} from '../../src/runner/runner.js';
import {createAppStore} from '../../src/store.js';
import {FakeHost, useFakeHost, type FakeHostOptions} from './fake-host.js';
import {sh} from './tools.js';

export interface NbdTest {
  host: FakeHost;
  runner: Runner;
  state: string;
  done: () => Promise<void>;
}

export function nbdTest(options: FakeHostOptions = {}, knobs: Record<string, string> = {}, runnerOptions: {dryRun?: boolean} = {}): NbdTest {
  const host = new FakeHost(options);
  const state = join(host.root, 'state');
  const restore = useFakeHost(host, {TDX_WIZARD_STATE_DIR: state, ...knobs});
  const runner = new Runner({store: createAppStore(), dryRun: runnerOptions.dryRun});
  return {
    host,
    runner,
    state,
    done: async () => {
      restore();
      await host.remove();
    },
  };
}

/** A real qcow2 made by qemu-img (the stand-in reads its virtual size from the header). */
export function makeImage(host: FakeHost, name = 'cache.qcow2', size = '1G'): string {
  const dir = join(host.root, 'volumes');
  mkdirSync(dir, {recursive: true});
  const path = join(dir, name);
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', path, size]);
  return path;
}

/** The argv of every command the runner ran (or planned), one string each. */
export function ran(runner: Runner): string[] {
  return runner.store.getState().runs.map((r) => r.argv.join(' '));
}
