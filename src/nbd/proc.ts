// Small readers for sysfs and procfs below the configured roots. A missing file is an answer
// (undefined), never an error: sysfs entries come and go while devices connect and disconnect.
import {readFile, stat} from 'node:fs/promises';
import {join} from 'node:path';
import type {Roots} from '../host/roots.js';

export async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function readInt(path: string): Promise<number | undefined> {
  const text = await readText(path);
  if (text === undefined || !/^-?\d+$/.test(text)) return undefined;
  return Number(text);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A process is alive when <proc>/PID exists and is not a zombie (an exited, unreaped process). */
export async function processAlive(roots: Roots, pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (!(await exists(join(roots.proc, String(pid))))) return false;
  const stat = await readText(join(roots.proc, String(pid), 'stat'));
  // "1234 (qemu-nbd) S ...": the state follows the last ")" (the name may contain one).
  const state = stat?.slice(stat.lastIndexOf(')') + 1).trim()[0];
  return state !== 'Z' && state !== 'X';
}

export async function processArgv(roots: Roots, pid: number): Promise<string[] | undefined> {
  const text = await readFile(join(roots.proc, String(pid), 'cmdline'), 'utf8').catch(() => undefined);
  if (!text) return undefined;
  return text.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
}

/** The process a thread belongs to: the kernel's nbd pid file may name qemu-nbd's client thread. */
export async function threadGroup(roots: Roots, pid: number): Promise<number | undefined> {
  const status = await readText(join(roots.proc, String(pid), 'status'));
  const m = status && /^Tgid:\s*(\d+)/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

// qemu-nbd options that take a value as the next argument (qemu-nbd --help, QEMU 7.2).
const VALUE_OPTS = new Set([
  '-p', '--port', '-b', '--bind', '-k', '--socket', '-o', '--offset', '-l', '--load-snapshot', '-x', '--export-name',
  '-D', '--description', '-B', '--bitmap', '-A', '--allocation-depth', '-e', '--shared', '-f', '--format', '-c', '--connect',
  '-T', '--trace', '--object', '--tls-creds', '--tls-hostname', '--tls-authz', '--pid-file', '--cache',
  '--aio', '--discard', '--detect-zeroes', '--handshake-limit',
]);

/** The image a qemu-nbd command line serves: the positional argument (after `--` when there is one). */
export function servedImage(argv: readonly string[]): string | undefined {
  const dashes = argv.indexOf('--');
  if (dashes >= 0) return argv[dashes + 1];
  let image: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (VALUE_OPTS.has(arg)) i++;
    else if (!arg.startsWith('-')) image = arg;
  }
  return image;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
