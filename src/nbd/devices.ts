// Every /dev/nbdN as the kernel sees it (sysfs and procfs, never `qemu-nbd --list`, which asks a
// remote server for its exports and knows nothing about local devices).
//   connected: sysfs has a pid file naming a live process;
//   stale:     the pid file names a dead process (qemu-nbd was killed while something held the device);
//   stuck:     no pid file but a size, holders or mounts (a leftover opener keeps the device configured);
//   free:      no pid file, size 0, no holders, not mounted.
import {readdir} from 'node:fs/promises';
import {join} from 'node:path';
import {UsageError} from '../errors.js';
import {devPath, type Roots} from '../host/roots.js';
import {processAlive, processArgv, readInt, readText, servedImage} from './proc.js';

export type DeviceState = 'free' | 'connected' | 'stale' | 'stuck';

export interface Mount {
  source: string;
  target: string;
}

export interface NbdDevice {
  name: string;
  /** The device node: /dev/nbdN on a real host. */
  path: string;
  state: DeviceState;
  /** From <sys>/block/nbdN/pid: the qemu-nbd (client thread) that connected it. */
  pid?: number;
  serverAlive: boolean;
  /** The program behind the pid, and the image it serves (from <proc>/PID/cmdline). */
  server?: string;
  image?: string;
  sizeBytes: number;
  partitions: string[];
  holders: string[];
  mounts: Mount[];
  /** Why it is in this state, in words. */
  reason: string;
}

const NAME = /^nbd(\d+)$/;

/** `/dev/nbd3` or `nbd3` -> `nbd3`; anything else is bad input (exit 2). */
export function deviceName(arg: string): string {
  const base = arg.startsWith('/dev/') ? arg.slice(5) : arg;
  if (NAME.test(base)) return base;
  if (/^nbd\d+p\d+$/.test(base)) throw new UsageError(`${arg} is a partition of an NBD device`, `give the whole device: /dev/${base.replace(/p\d+$/, '')}`);
  throw new UsageError(`${arg} is not an NBD device`, 'give /dev/nbdN; tdx-wizard nbd list shows them');
}

function byIndex(a: string, b: string): number {
  return Number(NAME.exec(a)?.[1]) - Number(NAME.exec(b)?.[1]);
}

export async function listDevices(roots: Roots): Promise<NbdDevice[]> {
  const names = (await readdir(join(roots.sys, 'block')).catch(() => [] as string[])).filter((n) => NAME.test(n)).sort(byIndex);
  const mountinfo = await readMountinfo(roots);
  return Promise.all(names.map((name) => describe(roots, name, mountinfo)));
}

export async function readDevice(roots: Roots, name: string): Promise<NbdDevice | undefined> {
  const dir = join(roots.sys, 'block', name);
  if ((await readText(join(dir, 'size'))) === undefined) return undefined;
  return describe(roots, name, await readMountinfo(roots));
}

interface MountEntry extends Mount {
  majMin: string;
}

async function readMountinfo(roots: Roots): Promise<MountEntry[]> {
  const text = (await readText(join(roots.proc, 'self', 'mountinfo'))) ?? '';
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    // "36 35 43:0 / /mnt rw,relatime shared:1 - ext4 /dev/nbd0 rw": fields before " - ", then type and source.
    const [left, right] = line.split(' - ');
    const f = left?.split(' ');
    const source = right?.split(' ')[1];
    if (!f || f.length < 5 || !source) continue;
    entries.push({majMin: f[2]!, target: unescape(f[4]!), source: unescape(source)});
  }
  return entries;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

async function describe(roots: Roots, name: string, mountinfo: MountEntry[]): Promise<NbdDevice> {
  const dir = join(roots.sys, 'block', name);
  const entries = await readdir(dir).catch(() => [] as string[]);
  const partitions = entries.filter((e) => e.startsWith(`${name}p`)).sort();
  const holders: string[] = [];
  const majMins: string[] = [];
  for (const node of [name, ...partitions]) {
    const base = node === name ? dir : join(dir, node);
    holders.push(...(await readdir(join(base, 'holders')).catch(() => [] as string[])));
    const mm = await readText(join(base, 'dev'));
    if (mm) majMins.push(mm);
  }
  const nodes = new Set([name, ...partitions].map((n) => `/dev/${n}`));
  const mounts = mountinfo.filter((m) => nodes.has(m.source) || majMins.includes(m.majMin)).map(({source, target}) => ({source, target}));
  const sizeBytes = ((await readInt(join(dir, 'size'))) ?? 0) * 512;
  const pid = await readInt(join(dir, 'pid'));
  const serverAlive = pid !== undefined && (await processAlive(roots, pid));
  const argv = serverAlive ? await processArgv(roots, pid) : undefined;
  const server = argv?.[0]?.split('/').pop();
  const image = argv && server === 'qemu-nbd' ? servedImage(argv) : undefined;

  const use = [...(holders.length ? [`held by ${holders.join(', ')}`] : []), ...mounts.map((m) => `${m.source} mounted on ${m.target}`)];
  let state: DeviceState;
  let reason: string;
  if (pid !== undefined && serverAlive) {
    state = 'connected';
    reason = `served by ${server ?? 'a process'} (pid ${pid})${image ? ` from ${image}` : ''}`;
  } else if (pid !== undefined) {
    state = 'stale';
    reason = `its server (pid ${pid}) is gone but the device is still configured${use.length ? `: ${use.join('; ')}` : ''}`;
  } else if (sizeBytes > 0 || use.length) {
    state = 'stuck';
    reason = [...(sizeBytes > 0 ? [`size ${sizeBytes} bytes without a server`] : []), ...use].join('; ');
  } else {
    state = 'free';
    reason = 'no server, size 0, no holders, not mounted';
  }
  return {name, path: devPath(roots, name), state, pid, serverAlive, server, image, sizeBytes, partitions, holders, mounts, reason};
}
