// At start: reconcile what the state file says an earlier run attached with what the kernel shows,
// and offer to detach what a crash left behind. The kernel always wins over the state file:
//   record + device serving the recorded image  -> left over: offer to detach (gracefully);
//   record + device free                        -> already gone: forget the record;
//   record + device serving something else      -> not ours any more: forget, touch nothing;
//   device stale (server dead) or stuck         -> never touched automatically: say what holds it.
import {hostRoots, type Roots} from '../host/roots.js';
import type {Runner} from '../runner/runner.js';
import {detachDevice} from './detach.js';
import {listDevices, type NbdDevice} from './devices.js';
import {processAlive} from './proc.js';
import {dropRecord, readRecords, withNbdLock, type NbdRecord} from './state.js';

export type Finding = 'attached' | 'kept' | 'gone' | 'foreign' | 'stale' | 'stuck' | 'owner-running';

export interface RecoverItem {
  device: string;
  image?: string;
  finding: Finding;
  action: 'detached' | 'left' | 'forgotten';
  /** Whether the state file knew about it. */
  recorded: boolean;
  detail: string;
  fix?: string;
  error?: string;
}

export interface RecoverOptions {
  /** Asked for each device an earlier run left attached; true detaches it. Default: leave it. */
  decide?: (item: RecoverItem) => Promise<boolean>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function recoverStale(runner: Runner, roots: Roots = hostRoots(), options: RecoverOptions = {}): Promise<RecoverItem[]> {
  const devices = await listDevices(roots);
  const records = (await readRecords()).filter((r) => r.ownerPid !== process.pid);
  const items: RecoverItem[] = [];
  for (const record of records) {
    items.push(await reconcile(runner, roots, record, devices.find((d) => d.name === record.device), options));
  }
  // Devices nobody recorded, in a bad state: shown, never touched.
  for (const dev of devices) {
    if (records.some((r) => r.device === dev.name) || (dev.state !== 'stale' && dev.state !== 'stuck')) continue;
    items.push({device: dev.name, image: dev.image, finding: dev.state, action: 'left', recorded: false, detail: dev.reason, fix: fixFor(dev)});
  }
  return items;
}

async function reconcile(runner: Runner, roots: Roots, record: NbdRecord, dev: NbdDevice | undefined, options: RecoverOptions): Promise<RecoverItem> {
  const base = {device: record.device, image: record.image, recorded: true};
  const forget = () => withNbdLock(roots, `forget ${record.device}`, () => dropRecord(record.device));
  if (await processAlive(roots, record.ownerPid)) {
    return {...base, finding: 'owner-running', action: 'left', detail: `tdx-wizard pid ${record.ownerPid} is still running and owns it`};
  }
  if (!dev || dev.state === 'free') {
    await forget();
    return {...base, finding: 'gone', action: 'forgotten', detail: `/dev/${record.device} is free: nothing is attached any more`, fix: `check the image: qemu-img check -f ${record.format} ${record.image}`};
  }
  if (dev.state === 'connected' && dev.image !== record.image) {
    await forget();
    return {...base, finding: 'foreign', action: 'forgotten', detail: `/dev/${record.device} now serves ${dev.image ?? `another program (${dev.server ?? '?'})`}: not ours, left alone`};
  }
  if (dev.state !== 'connected') {
    return {...base, finding: dev.state, action: 'left', detail: dev.reason, fix: fixFor(dev)};
  }
  const item: RecoverItem = {
    ...base,
    finding: record.kept ? 'kept' : 'attached',
    action: 'left',
    detail: record.kept
      ? `/dev/${record.device} serves ${record.image}; it was left attached on purpose (tdx-wizard nbd attach)`
      : `/dev/${record.device} still serves ${record.image}; the run that attached it (pid ${record.ownerPid}) ended without detaching`,
    fix: `tdx-wizard nbd detach /dev/${record.device}`,
  };
  if (!(await options.decide?.(item))) return item;
  try {
    await detachDevice(runner, record.device, {roots, signal: options.signal, timeoutMs: options.timeoutMs});
    return {...item, action: 'detached', fix: undefined};
  } catch (error) {
    const fix = (error as {fix?: string}).fix;
    return {...item, error: (error as Error).message, ...(fix ? {fix} : {})};
  }
}

function fixFor(dev: NbdDevice): string {
  const mount = dev.mounts[0];
  if (mount) return `umount ${mount.target}, then tdx-wizard nbd detach /dev/${dev.name}`;
  if (dev.holders.length) return `release ${dev.holders.join(', ')} (dmsetup info /dev/${dev.holders[0]}), then tdx-wizard nbd detach /dev/${dev.name}`;
  return `find what keeps it open (fuser -vm ${dev.path}), close it, then tdx-wizard nbd detach /dev/${dev.name}`;
}
