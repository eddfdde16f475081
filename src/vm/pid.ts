// The VM's pid file and its process in /proc: the one truth about whether a VM runs, for every
// launcher. No launcher is asked: run-tdx.sh's --status is wrong for anyone but root (the pid file
// is root's and 0600, §1.1), and every run-td call but --help stops the running VM (§6).
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {basename} from 'node:path';
import {pidFile} from '../paths.js';
import {readUntrusted} from '../untrusted-file.js';

/** A pid file is a number and a newline; one much larger was not written by QEMU. */
const PID_FILE_MAX_BYTES = 4096;

export type PidState =
  | {state: 'absent'}
  | {state: 'unreadable'; error: string}
  | {state: 'stale'; pid?: number}
  /** There, but not to be believed: another user's file, a link, or a pid that is not a QEMU. */
  | {state: 'untrusted'; pid?: number; why: string}
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
  let got;
  try {
    // /tmp is everybody's: never follow a link there, never block on a FIFO, read a few bytes.
    got = readUntrusted(path, PID_FILE_MAX_BYTES);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // QEMU's pid file is root's and 0600, but its command line, naming the file, is public.
    const pid = e.code === 'EACCES' ? findByPidFileArg(path) : undefined;
    return pid ? {state: 'running', pid} : {state: 'unreadable', error: e.code === 'EACCES' ? 'permission denied (the pid file is root\'s)' : e.message};
  }
  if (got.kind === 'absent') return {state: 'absent'};
  if (got.kind === 'refused') return {state: 'untrusted', why: got.why};
  const {text, uid: owner} = got;
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return {state: 'stale'};
  if (!processAlive(pid)) return {state: 'stale', pid};
  // QEMU runs as root (the launchers use sudo): a file another user wrote proves nothing.
  if (owner !== 0 && owner !== process.getuid?.()) return {state: 'untrusted', pid, why: `is owned by uid ${owner}, not root`};
  const argv = processCmdline(pid);
  if (argv.length && !isQemu(argv)) return {state: 'untrusted', pid, why: `names pid ${pid} (${basename(argv[0]!)}), which is not QEMU`};
  return {state: 'running', pid};
}

/** A QEMU's command line: the program (or the script run as it, for a stand-in) is qemu-system-* or qemu-kvm. */
export function isQemu(argv: readonly string[]): boolean {
  return argv.slice(0, 2).some((arg) => /^qemu(-system-[\w-]+|-kvm)$/.test(basename(arg)));
}

/** What an untrusted pid file means for a launcher or stop, in words. */
export function untrustedText(state: Extract<PidState, {state: 'untrusted'}>, path = pidFile()): string {
  return `the pid file ${path} ${state.why}: not believed`;
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
