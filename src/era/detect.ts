// Which era a launcher belongs to, told from the files' content (upstream-eras.md §5), never by
// running them: every run-td call but --help stops the running VM first. The launcher file and the
// upstream files beside it are read; the newest era whose signature appears wins, and the
// evidence says which file carried which string.
import {closeSync, openSync, readSync} from 'node:fs';
import {open} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {ERAS, type Era} from './eras.js';

export interface Detection {
  era: Era;
  /** `run-td has "--storage-volume"`: what was seen, where. */
  evidence: string;
  file: string;
}

/** Upstream files that sit beside a launcher and carry signatures. */
const NEIGHBOURS = ['quick-launch.sh', 'run-td', 'run-vm.sh', 'run-tdx.sh', 'launch.sh', 'chutes_host/qemu.py', 'volumes/create-cache.sh', 'create-cache.sh'];
const READ_LIMIT = 1024 * 1024;

async function head(path: string): Promise<string | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return undefined;
  try {
    const buffer = Buffer.alloc(READ_LIMIT);
    const {bytesRead} = await file.read(buffer, 0, READ_LIMIT, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } catch {
    return undefined; // a directory or an unreadable file carries no signature
  } finally {
    await file.close();
  }
}

/** The same, read synchronously (a form field checks its value as it is typed). */
function headSync(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(READ_LIMIT);
    const bytesRead = readSync(fd, buffer, 0, READ_LIMIT, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const candidates = (launcher: string) => {
  const dir = dirname(launcher);
  return [launcher, ...NEIGHBOURS.map((n) => join(dir, n)).filter((p) => p !== launcher)];
};

export async function detectEra(launcher: string): Promise<Detection | undefined> {
  const texts = (await Promise.all(candidates(launcher).map(async (path) => ({path, text: await head(path)})))).filter((f): f is {path: string; text: string} => f.text !== undefined);
  return detectFrom(launcher, texts);
}

export function detectEraSync(launcher: string): Detection | undefined {
  const texts = candidates(launcher).map((path) => ({path, text: headSync(path)})).filter((f): f is {path: string; text: string} => f.text !== undefined);
  return detectFrom(launcher, texts);
}

function detectFrom(launcher: string, texts: Array<{path: string; text: string}>): Detection | undefined {
  const dir = dirname(launcher);
  if (basename(launcher) === 'chutes-cvm') {
    const era = ERAS.find((e) => e.launcher === 'chutes-cvm')!;
    return {era, evidence: `${launcher} is chutes-cvm: ${era.title}`, file: launcher};
  }
  for (const era of [...ERAS].reverse()) {
    for (const signature of era.signatures) {
      const hit = texts.find((f) => f.text.includes(signature.text));
      if (hit) return {era, evidence: `${hit.path === launcher ? basename(launcher) : hit.path.slice(dir.length + 1)} has "${signature.text}": ${era.title}`, file: hit.path};
    }
  }
  return undefined;
}
