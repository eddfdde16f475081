// Runs the built CLI as an operator would, and snapshots directories to prove nothing changed.
import {spawn, spawnSync} from 'node:child_process';
import {lstatSync, readdirSync} from 'node:fs';
import {join, resolve} from 'node:path';

export const CLI = resolve('dist/cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv; input?: string} = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: {...process.env, ...options.env},
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Starts the CLI in the background (for signal tests). */
export function startCli(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {cwd: options.cwd, env: {...process.env, ...options.env}, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolveDone) => child.on('close', (code) => resolveDone({code, stdout, stderr})));
  return {child, done, output: () => stdout + stderr};
}

/** Every entry below `dir` with its type, size, mode and mtime: equal snapshots mean nothing changed. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      out.push(`${p.slice(dir.length)} ${st.mode.toString(8)} ${st.isDirectory() ? '-' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}
