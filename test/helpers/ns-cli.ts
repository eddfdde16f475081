// The built CLI run inside a private mount namespace (test/helpers/private-tmp.ts), with every
// process's /proc/PID/cmdline polled while it runs for a secret (the miner seed).
import {spawn} from 'node:child_process';
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {processAlive} from '../../src/vm/pid.js';
import {CLI} from './cli.js';
import type {PrivateTmp} from './private-tmp.js';

export interface NsOut {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Command lines (NULs as spaces) seen holding the secret while the command ran. */
  seedSeen: string[];
}

export async function nsCli(ns: PrivateTmp, env: NodeJS.ProcessEnv, secret: string, args: string[]): Promise<NsOut> {
  return nsRun(ns, env, secret, [process.execPath, CLI, ...args]);
}

/** Any command inside the namespace (an upstream launcher run by hand), polled the same way. */
export async function nsRun(ns: PrivateTmp, env: NodeJS.ProcessEnv, secret: string, argv: string[]): Promise<NsOut> {
  const child = spawn(ns.enter[0]!, [...ns.enter.slice(1), ...argv], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const seedSeen = new Set<string>();
  let done = false;
  const code = new Promise<number | null>((r) => child.on('close', (c) => ((done = true), r(c))));
  while (!done) {
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const line = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (line.includes(secret)) seedSeen.add(line.replace(/\0/g, ' '));
      } catch {
        /* ended meanwhile */
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return {code: await code, stdout, stderr, seedSeen: [...seedSeen]};
}

/** The `result` event of a --json run. */
export const jsonResult = (out: {stdout: string}) => out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result')!;

/** The pid in the namespace's /tmp/tdx-td-pid.pid (the upstream launchers' pid file), if any. */
export const nsPid = (ns: PrivateTmp | undefined) => (ns && existsSync(ns.tmp('tdx-td-pid.pid')) ? Number(readFileSync(ns.tmp('tdx-td-pid.pid'), 'utf8').trim()) : undefined);

/** After the tests: a VM left running is ended, then the namespace, then the test's tree. */
export async function closeNs(ns: PrivateTmp | undefined, root: string | undefined): Promise<void> {
  const pid = nsPid(ns);
  if (pid && processAlive(pid)) process.kill(pid, 'SIGTERM');
  await ns?.close();
  if (root) rmSync(root, {recursive: true, force: true});
}
