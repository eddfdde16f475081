// What the installed e2fsprogs can do, from the version mkfs.ext4 reports ("mke2fs 1.47.0
// (5-Feb-2023)"), asked through the runner.
import type {Runner} from '../runner/runner.js';

export type Version = readonly [number, number, number];

/** The version in mke2fs's own words, or undefined when it says none. */
export function parseMke2fsVersion(text: string): Version | undefined {
  const m = /\bmke2fs (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function atLeast(version: Version, wanted: Version): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== wanted[i]) return version[i]! > wanted[i]!;
  return true;
}

/** `-E assume_storage_prezeroed` came with e2fsprogs 1.47.0; older ones refuse the whole command. */
export const PREZEROED_SINCE: Version = [1, 47, 0];

export async function mke2fsVersion(runner: Runner, signal?: AbortSignal): Promise<{version?: Version; said: string}> {
  const r = await runner.run({cmd: 'mkfs.ext4', args: ['-V'], title: 'mkfs.ext4 version', capture: true, check: false, timeoutMs: 10_000}, {signal});
  const said = [r.stdout, ...r.tail].join('\n');
  return {version: parseMke2fsVersion(said), said: said.split('\n').find((l) => /mke2fs/.test(l))?.trim() ?? ''};
}
