// Is an image in use, and by whom? Read without taking any lock and without running anything:
//   - /proc/locks lists qemu's OFD locks (bytes 100-203 of the image, qemu block/file-posix.c);
//   - /proc/PID/fd shows which processes hold the file open (visible to root).
// The write paths also run qemu's own lock probe (`qemu-img info` without -U) before writing.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';

export interface Holder {
  pid: number;
  command: string;
}

export interface UseReport {
  inUse: boolean;
  /** qemu-style locks on the file (any process). */
  locked: boolean;
  holders: Holder[];
  /** One sentence for messages: "held by qemu-nbd (pid 4242)". */
  detail?: string;
}

function procRoot(): string {
  return process.env.TDX_WIZARD_PROC_ROOT || '/proc';
}

/** Linux dev_t split the way /proc/locks prints it (hex major:minor). */
function devParts(dev: number): [number, number] {
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  return [major, minor];
}

// The /proc scan is synchronous: a few thousand stat() calls take a few milliseconds, less than
// the same calls through the thread pool. /proc/locks is read through the thread pool, so that
// the kernel's 5-20 ms to produce it (measured here) overlaps with that scan and the image reads.

export async function qemuLockHeld(path: string): Promise<boolean> {
  const locks = readFile(join(procRoot(), 'locks'), 'utf8').catch(() => ''); // started first
  let st;
  try {
    st = statSync(path);
  } catch {
    return false;
  }
  const [major, minor] = devParts(st.dev);
  const text = await locks;
  for (const line of text.split('\n')) {
    // "1: OFDLCK ADVISORY  READ -1 fd:01:1234 100 101"
    const m = /\s([0-9a-f]+):([0-9a-f]+):(\d+)\s+(\d+)\s+(\d+|EOF)/.exec(line);
    if (!m) continue;
    if (parseInt(m[1]!, 16) === major && parseInt(m[2]!, 16) === minor && Number(m[3]) === st.ino) {
      const start = Number(m[4]);
      if (start >= 100 && start <= 299) return true;
    }
  }
  return false;
}

/** The processes holding `path` open: stat() through each /proc/PID/fd link reaches the open file itself, also when it was renamed or deleted since. */
export async function openedBy(path: string): Promise<Holder[]> {
  return (await openedByEach([path])).get(path) ?? [];
}

/** openedBy for several files in one pass over /proc: a set of volumes costs one scan, not one each. */
export async function openedByEach(paths: string[]): Promise<Map<string, Holder[]>> {
  const found = new Map<string, Holder[]>();
  const wanted = new Map<string, string[]>();
  for (const path of paths) {
    const st = statSync(path, {throwIfNoEntry: false});
    found.set(path, []);
    if (st) wanted.set(`${st.dev}:${st.ino}`, [...(wanted.get(`${st.dev}:${st.ino}`) ?? []), path]);
  }
  if (!wanted.size) return found;
  const proc = procRoot();
  for (const pid of list(proc)) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const fdDir = join(proc, pid, 'fd');
    const held = new Set<string>();
    for (const fd of list(fdDir)) {
      try {
        const st = statSync(join(fdDir, fd), {throwIfNoEntry: false});
        const key = st && `${st.dev}:${st.ino}`;
        if (key && wanted.has(key)) held.add(key);
      } catch (e) {
        // Not ours to look at: the kernel decides that for the whole process (ptrace access), so
        // its other fds would refuse too, each with an exception (5-15 ms for a few hundred).
        if (refused(e)) break;
        // otherwise the fd was closed while we looked
      }
    }
    if (!held.size) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(join(proc, pid, 'cmdline'), 'utf8');
    } catch {
      // it just exited
    }
    const holder = {pid: Number(pid), command: cmdline.split('\0')[0]?.split('/').pop() || '?'};
    for (const key of held) for (const path of wanted.get(key)!) found.get(path)!.push(holder);
  }
  return found;
}

function refused(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM';
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function imageUse(path: string): Promise<UseReport> {
  return (await imagesUse([path])).get(path)!;
}

/** imageUse for several files: one /proc scan for all of them. */
export async function imagesUse(paths: string[]): Promise<Map<string, UseReport>> {
  const [locks, holders] = await Promise.all([Promise.all(paths.map(qemuLockHeld)), openedByEach(paths)]);
  return new Map(paths.map((path, i) => [path, useReport(locks[i]!, holders.get(path) ?? [])]));
}

function useReport(locked: boolean, holders: Holder[]): UseReport {
  const inUse = locked || holders.length > 0;
  const who = holders.map((h) => `${h.command} (pid ${h.pid})`).join(', ');
  const detail = inUse ? (who ? `held by ${who}` : 'locked by another qemu process') : undefined;
  return {inUse, locked, holders, detail};
}
