// Which era a launcher belongs to, told from the files' content (upstream-eras.md §5), never by
// running them: every run-td call but --help stops the running VM first. The launcher file and the
// upstream files beside it are read; the newest era whose signature appears wins, and the
// evidence says which file carried which string.
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

export async function detectEra(launcher: string): Promise<Detection | undefined> {
  const dir = dirname(launcher);
  const paths = [launcher, ...NEIGHBOURS.map((n) => join(dir, n)).filter((p) => p !== launcher)];
  const texts = (await Promise.all(paths.map(async (path) => ({path, text: await head(path)})))).filter((f): f is {path: string; text: string} => f.text !== undefined);
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
