// Is an image in use by another qemu process (a running VM, a connected qemu-nbd)? qemu's own image
// lock answers it: `qemu-img info` WITHOUT -U asks for a shared "write" lock and fails with
// 'Failed to get shared "write" lock' while a writer holds the image. A BSD flock cannot see that
// lock (qemu uses OFD locks), so the probe is the reliable test.
import {openedBy} from '../attach/holders.js';
import {StepError} from '../errors.js';
import type {Runner} from '../runner/runner.js';

export interface ImageProbe {
  inUse: boolean;
  detail?: string;
  /** From the JSON when the probe could open the image. */
  virtualSize?: number;
  format?: string;
}

const LOCKED = /Failed to get (shared )?"write" lock|Is another process using the image/;

export async function probeImage(runner: Runner, path: string, options: {format?: string; signal?: AbortSignal} = {}): Promise<ImageProbe> {
  const format = options.format ?? 'qcow2';
  const result = await runner.run(
    {
      cmd: 'qemu-img',
      args: ['info', '-f', format, '--output=json', '--', path],
      title: `Is ${path.split('/').pop()} in use? (qemu's image lock)`,
      capture: true,
      check: false,
    },
    {signal: options.signal},
  );
  if (runner.dryRun) return {inUse: false};
  if (result.exitCode === 0) {
    try {
      const info = JSON.parse(result.stdout) as {'virtual-size'?: number; format?: string};
      return {inUse: false, virtualSize: info['virtual-size'], format: info.format};
    } catch {
      return {inUse: false};
    }
  }
  if (result.tail.some((line) => LOCKED.test(line))) {
    const said = result.tail.map((l) => /Failed to get (shared )?"write" lock/.exec(l)?.[0]).find(Boolean) ?? 'Failed to get "write" lock';
    // Who holds it, when /proc shows it (root sees every process's open files).
    const who = (await openedBy(path)).map((h) => `${h.command} (pid ${h.pid})`).join(', ');
    return {inUse: true, detail: `${said}: ${who ? `held by ${who}` : 'a running VM or a connected qemu-nbd holds it'}`};
  }
  throw new StepError(`qemu-img could not open ${path} as ${format}`, 'qemu-img info', result.tail);
}

export async function imageInUse(runner: Runner, path: string, options: {format?: string; signal?: AbortSignal} = {}): Promise<{inUse: boolean; detail?: string}> {
  const {inUse, detail} = await probeImage(runner, path, options);
  return detail ? {inUse, detail} : {inUse};
}
