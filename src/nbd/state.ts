// What the wizard has attached, kept on disk so a crashed run can be cleaned up by the next one,
// and the lock that keeps two wizards from picking the same device.
//
// The state file is written BEFORE connecting (an intent record) and after every change, atomically
// (temporary file + rename) and 0600. It is only ever a hint: recovery checks it against sysfs.
// The lock lives under <run>/lock (host-wide, gone after a reboot) and holds the owner's pid; a lock
// whose pid is dead is taken over. Node has no flock, so it is an O_EXCL file.
import {mkdir, open, readFile, rename, unlink, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {StepError} from '../errors.js';
import type {Roots} from '../host/roots.js';
import {stateDir} from '../paths.js';
import {processAlive, processArgv, sleep} from './proc.js';
import {readUntrusted} from '../untrusted-file.js';

export interface NbdRecord {
  device: string;
  image: string;
  format: string;
  /** Where qemu-nbd writes its pid (--pid-file). */
  pidFile: string;
  /** The qemu-nbd daemon, once known. */
  pid?: number;
  /** The wizard process that made the record. */
  ownerPid: number;
  phase: 'connecting' | 'attached' | 'detaching';
  /** Left attached on purpose (`tdx-wizard nbd attach`), not by a crash. */
  kept?: boolean;
  since: string;
}

export function statePath(): string {
  return join(stateDir(), 'nbd-state.json');
}

export async function readRecords(): Promise<NbdRecord[]> {
  try {
    const parsed = JSON.parse(await readFile(statePath(), 'utf8')) as {records?: NbdRecord[]};
    return Array.isArray(parsed.records) ? parsed.records : [];
  } catch {
    return []; // missing or torn: the kernel is the truth anyway
  }
}

async function writeRecords(records: NbdRecord[]): Promise<void> {
  await mkdir(stateDir(), {recursive: true, mode: 0o700});
  const tmp = `${statePath()}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({records}, null, 2)}\n`, {mode: 0o600});
  await rename(tmp, statePath());
}

export async function putRecord(record: NbdRecord): Promise<void> {
  const records = (await readRecords()).filter((r) => r.device !== record.device);
  await writeRecords([...records, record]);
}

export async function updateRecord(device: string, patch: Partial<NbdRecord>): Promise<void> {
  const records = await readRecords();
  await writeRecords(records.map((r) => (r.device === device ? {...r, ...patch} : r)));
}

export async function dropRecord(device: string): Promise<void> {
  const records = await readRecords();
  if (records.some((r) => r.device === device)) await writeRecords(records.filter((r) => r.device !== device));
}

export function lockPath(roots: Roots): string {
  return join(roots.run, 'lock', 'tdx-wizard-nbd.lock');
}

interface LockInfo {
  pid: number;
  what: string;
  since: string;
}

/** A lock file is a few dozen bytes of JSON; anything larger was not made by a wizard. */
const LOCK_MAX_BYTES = 4096;

/**
 * Reads the lock without trusting it: /run/lock is world-writable, so another local user can put a
 * symlink (to a FIFO that hangs a reader, to /dev/zero that never ends), a large file or a forged
 * pid there. Never followed (O_NOFOLLOW), never blocking (O_NONBLOCK), at most LOCK_MAX_BYTES, and
 * only a regular file root owns (or this user, for a wizard not run as root) counts; anything else
 * is refused with what it is.
 */
async function readLock(path: string): Promise<{raw: string; info?: LockInfo}> {
  const got = readUntrusted(path, LOCK_MAX_BYTES);
  if (got.kind === 'absent') return {raw: ''};
  if (got.kind === 'refused') throw forged(path, got.why);
  if (got.uid !== 0 && got.uid !== (process.getuid?.() ?? 0)) throw forged(path, `is owned by uid ${got.uid}, not root`);
  try {
    return {raw: got.text, info: JSON.parse(got.text) as LockInfo};
  } catch {
    return {raw: got.text};
  }
}

function forged(path: string, what: string): StepError {
  return new StepError(`the NBD lock ${path} ${what}, not a lock tdx-wizard made: another local user may have put it there`, 'nbd lock', [], `remove it (rm ${path}) once no tdx-wizard runs, and find out who made it`);
}

/** Is `pid` a live tdx-wizard? Only then does its lock hold (a pid file naming any process proves nothing). */
async function wizardAlive(roots: Roots, pid: number): Promise<boolean> {
  if (!(await processAlive(roots, pid))) return false;
  const argv = (await processArgv(roots, pid)) ?? [];
  return argv.slice(0, 3).some((arg) => arg === process.argv[1] || /(^|\/)tdx-wizard(\.m?js)?$/.test(arg) || /(^|\/)dist\/cli\.js$/.test(arg));
}

// One holder at a time inside this process too (the file lock only separates processes).
let chain: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` holding the NBD lock. Waits up to `waitMs` for another live wizard to let go, then
 * refuses, saying who holds it.
 */
export function withNbdLock<T>(roots: Roots, what: string, fn: () => Promise<T>, options: {waitMs?: number} = {}): Promise<T> {
  const run = chain.then(async () => {
    const release = await acquire(roots, what, options.waitMs ?? 20_000);
    try {
      return await fn();
    } finally {
      await release();
    }
  });
  chain = run.catch(() => undefined);
  return run;
}

async function acquire(roots: Roots, what: string, waitMs: number): Promise<() => Promise<void>> {
  const path = lockPath(roots);
  await mkdir(join(roots.run, 'lock'), {recursive: true});
  const mine = JSON.stringify({pid: process.pid, what, since: new Date().toISOString()});
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(mine);
      await handle.close();
      return async () => {
        if ((await readLock(path).catch(() => ({raw: ''}))).raw === mine) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await readLock(path);
    if (!held.info || !(await wizardAlive(roots, held.info.pid))) {
      await takeOver(path, held.raw);
      continue;
    }
    if (Date.now() >= deadline) {
      const {pid, what: theirs, since} = held.info;
      throw new StepError(
        `another tdx-wizard (pid ${pid}) is using NBD devices since ${since} (${theirs}); two wizards must not pick devices at the same time`,
        'nbd lock',
        [],
        `wait for it to finish, or stop it (kill -TERM ${pid}); the lock is ${path}`,
      );
    }
    await sleep(200);
  }
}

/** Removes a dead owner's lock. The rename makes sure we remove the stale file, not a fresh one. */
async function takeOver(path: string, staleRaw: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else took it over first
  }
  const moved = (await readLock(aside).catch(() => ({raw: ''}))).raw;
  // Another wizard took over and locked between our read and our rename: give its lock back.
  if (moved !== staleRaw) await rename(aside, path).catch(() => undefined);
  else await unlink(aside).catch(() => undefined);
}
