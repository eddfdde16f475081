// The tools the guest harness runs, each with the Debian package that has it. A missing one fails
// the test and names the package: never a skip.
import {spawnSync} from 'node:child_process';
import {toolPath} from './tools.js';

const PACKAGE: Record<string, string> = {
  bwrap: 'bubblewrap',
  setpriv: 'util-linux',
  losetup: 'util-linux',
  blkid: 'util-linux',
  findmnt: 'util-linux',
  mountpoint: 'util-linux',
  mount: 'mount',
  'qemu-storage-daemon': 'qemu-system-common',
  'qemu-img': 'qemu-utils',
  fusermount3: 'fuse3',
  cryptsetup: 'cryptsetup-bin',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  tune2fs: 'e2fsprogs',
};

export function requireGuestTools(...names: string[]): void {
  for (const name of names) {
    try {
      toolPath(name);
    } catch {
      throw new Error(`${name} is not installed: apt-get install ${PACKAGE[name] ?? name}`);
    }
  }
}

/** process-config.py runs under the guest's /usr/bin/python3 (config-manager.service) and imports yaml. */
export function requireGuestPython(): void {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import yaml'], {encoding: 'utf8'});
  if (r.error) throw new Error('/usr/bin/python3 is not installed: apt-get install python3 python3-yaml');
  if (r.status !== 0) throw new Error(`/usr/bin/python3 cannot import yaml: apt-get install python3-yaml (${r.stderr.trim()})`);
}
