// Attach a volume so the ext4 and LUKS tools can work on it. A raw file needs no attaching; a
// qcow2 is exported as a file through qemu-storage-daemon's FUSE export, which needs no kernel
// module and behaves the same whether or not the host has nbd.
import type {Runner} from '../runner/runner.js';
import {attachFuse, type Attached} from './fuse.js';

export {reclaimFuseLeftovers} from './fuse.js';

export type {Attached};

export async function attachVolume(runner: Runner, image: string, options: {format: 'qcow2' | 'raw'; writable: boolean}): Promise<Attached> {
  if (options.format === 'raw') return {path: image, via: 'fuse', detach: async () => undefined};
  return attachFuse(runner, image, options);
}
