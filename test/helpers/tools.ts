// Tests run the real tools. A missing tool is a failure that names the Debian package, never a skip.
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PACKAGE_OF} from '../../src/runner/runner.js';

const EXTRA_PATH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export function toolPath(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...EXTRA_PATH]) {
    try {
      execFileSync('test', ['-x', join(dir, name)]);
      return join(dir, name);
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`${name} is not installed: apt-get install ${PACKAGE_OF[name] ?? name}`);
}

/** Throws (failing the test) when a tool is missing; returns nothing otherwise. */
export function requireTools(...names: string[]): void {
  for (const name of names) toolPath(name);
}

/** Runs a tool and returns stdout; throws with stderr on failure. */
export function sh(cmd: string, args: string[], options: {cwd?: string; input?: string; env?: NodeJS.ProcessEnv} = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: options.cwd,
    input: options.input,
    env: {...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin`, ...options.env},
  });
}

export function tempDir(prefix = 'tdxw-'): {path: string; remove: () => void} {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {path, remove: () => rmSync(path, {recursive: true, force: true})};
}
