// The VM's pid file and its process in /proc: the one truth about whether a VM runs, for every
// launcher. No launcher is asked: run-tdx.sh's --status is wrong for anyone but root (the pid file
// is root's and 0600, §1.1), and every run-td call but --help stops the running VM (§6).
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {pidFile} from '../paths.js';

export type PidState =
  | {state: 'absent'}
  | {state: 'unreadable'; error: string}
  | {state: 'stale'; pid?: number}
  | {state: 'running'; pid: number};

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, someone else's
  }
  // In a container whose init does not reap, an ended QEMU lingers as a zombie: that is not running.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export function readPidFile(path = pidFile()): PidState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return {state: 'absent'};
    // QEMU's pid file is root's and 0600, but its command line, naming the file, is public.
    const pid = e.code === 'EACCES' ? findByPidFileArg(path) : undefined;
    return pid ? {state: 'running', pid} : {state: 'unreadable', error: e.code === 'EACCES' ? 'permission denied (the pid file is root\'s)' : e.message};
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return {state: 'stale'};
  return processAlive(pid) ? {state: 'running', pid} : {state: 'stale', pid};
}

/** The live process started with `-pidfile PATH` (QEMU as the launcher runs it), if any. */
export function findByPidFileArg(path: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('-pidfile');
      if (i >= 0 && argv[i + 1] === path && processAlive(Number(name))) return Number(name);
    } catch {
      /* ended meanwhile, or hidden */
    }
  }
  return undefined;
}

/** Seconds since the process started: /proc/PID/stat against /proc/uptime, else the pid file's age. */
export function uptimeOf(pid: number, pidPath = pidFile()): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // field 3 onwards: comm may hold spaces
    const startTicks = Number(fields[19]); // field 22, starttime, in USER_HZ (100 on Linux)
    const up = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (Number.isFinite(startTicks) && Number.isFinite(up)) return Math.max(0, Math.round(up - startTicks / 100));
  } catch {
    /* fall back to the pid file */
  }
  try {
    return Math.max(0, Math.round((Date.now() - statSync(pidPath).mtimeMs) / 1000));
  } catch {
    return undefined;
  }
}

/** The command line of a live process, split at its NULs ([] when it cannot be read). */
export function processCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}
