// Load the nbd module and wait for its devices. The module's parameters (nbds_max, max_part) are
// fixed at load time: when nbd is already loaded, `modprobe nbd max_part=8` changes nothing, so the
// wizard reads the values in effect and says so instead of pretending. The devices appear after
// modprobe returns (udev creates the nodes asynchronously), so wait for <sys>/block/nbd0 and
// <dev>/nbd0, bounded.
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {rootSignal} from '../cleanup.js';
import {Cancelled, StepError} from '../errors.js';
import {hostRoots, type Roots} from '../host/roots.js';
import type {Runner} from '../runner/runner.js';
import {listDevices} from './devices.js';
import {exists, readInt, sleep} from './proc.js';

export interface ModuleInfo {
  loaded: boolean;
  nbdsMax?: number;
  maxPart?: number;
  devices: number;
}

export interface LoadResult extends ModuleInfo {
  /** True when this call ran modprobe. */
  loadedNow: boolean;
  notes: string[];
  /** Files written for loading at boot. */
  persisted: string[];
}

export async function readModule(roots: Roots): Promise<ModuleInfo> {
  const params = join(roots.sys, 'module', 'nbd', 'parameters');
  return {
    loaded: await exists(join(roots.sys, 'module', 'nbd')),
    nbdsMax: await readInt(join(params, 'nbds_max')),
    maxPart: await readInt(join(params, 'max_part')),
    devices: (await listDevices(roots)).length,
  };
}

export async function loadModule(runner: Runner, roots: Roots = hostRoots(), options: {persist?: boolean; maxPart?: number; timeoutMs?: number; signal?: AbortSignal} = {}): Promise<LoadResult> {
  const maxPart = options.maxPart ?? 8;
  const notes: string[] = [];
  let loadedNow = false;
  let info = await readModule(roots);
  if (info.loaded) {
    notes.push(`nbd is already loaded (nbds_max=${info.nbdsMax ?? '?'}, max_part=${info.maxPart ?? '?'}); its parameters were fixed when it was loaded, so modprobe was not run`);
    if (info.maxPart !== undefined && info.maxPart < maxPart) {
      notes.push(`max_part=${info.maxPart} means no partition devices (nbd0p1); the wizard formats the whole device, so that is fine. To change it, with no device connected: modprobe -r nbd && modprobe nbd max_part=${maxPart}`);
    }
  } else {
    const result = await runner.run({cmd: 'modprobe', args: ['nbd', `max_part=${maxPart}`], title: 'Load the nbd kernel module', check: false}, {signal: options.signal});
    if (result.exitCode !== 0) {
      const notFound = result.tail.some((l) => /not found in directory|Module nbd not found/i.test(l));
      throw new StepError(
        notFound ? 'this kernel has no nbd module' : `modprobe nbd failed (exit code ${result.exitCode})`,
        'modprobe',
        result.tail,
        notFound
          ? 'install the modules package of the running kernel (Ubuntu: apt-get install linux-modules-extra-$(uname -r)); without nbd the wizard works through FUSE'
          : 'run as root: sudo tdx-wizard nbd load',
      );
    }
    loadedNow = true;
    if (!runner.dryRun) info = await waitForDevices(roots, options.timeoutMs ?? 10_000, options.signal);
  }
  const persisted = options.persist ? await persist(runner, roots, maxPart, notes) : [];
  return {...info, loadedNow, notes, persisted};
}

async function waitForDevices(roots: Roots, timeoutMs: number, signal?: AbortSignal): Promise<ModuleInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = (await exists(join(roots.sys, 'block', 'nbd0'))) && (await exists(join(roots.dev, 'nbd0')));
    if (ready) return readModule(roots);
    if (signal?.aborted || rootSignal.aborted) throw new Cancelled('stopped waiting for the nbd devices');
    if (Date.now() >= deadline) {
      const info = await readModule(roots);
      const why = info.nbdsMax === 0 ? 'nbds_max is 0 (set in /etc/modprobe.d?), so the module creates no devices' : `${join(roots.sys, 'block', 'nbd0')} or ${join(roots.dev, 'nbd0')} did not appear within ${timeoutMs / 1000} s`;
      throw new StepError(`nbd was loaded but ${why}`, 'modprobe', [], info.nbdsMax === 0 ? 'remove nbds_max=0 from /etc/modprobe.d, then: modprobe -r nbd && modprobe nbd max_part=8' : 'udevadm settle, then tdx-wizard nbd list');
    }
    await sleep(100);
  }
}

/** Load nbd at boot: only with the operator's consent (--persist), and never over a different file. */
async function persist(runner: Runner, roots: Roots, maxPart: number, notes: string[]): Promise<string[]> {
  const files: Array<[string, string]> = [
    [join(roots.etc, 'modules-load.d', 'nbd.conf'), '# written by tdx-wizard: load nbd at boot\nnbd\n'],
    [join(roots.etc, 'modprobe.d', 'nbd.conf'), `# written by tdx-wizard: partitions for NBD devices\noptions nbd max_part=${maxPart}\n`],
  ];
  const written: string[] = [];
  for (const [path, content] of files) {
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === content) continue;
    if (current !== undefined) {
      notes.push(`${path} exists with other content; left as it is`);
      continue;
    }
    await runner.act(`Write ${path}`, ['sh', '-c', `printf '${content.replace(/\n/g, '\\n')}' > ${path}`], async () => {
      await mkdir(dirname(path), {recursive: true});
      await writeFile(path, content, {mode: 0o644});
    });
    written.push(path);
  }
  return written;
}
