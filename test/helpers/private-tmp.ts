// A mount namespace with its own empty /tmp, for tests that run upstream launchers which hard-code
// /tmp/tdx-td-pid.pid and /tmp/tdx-guest-td.log (run-td, chutes_host): the host's /tmp, and every
// other test or wizard on this machine, never see those files. A holder process keeps the
// namespace; commands enter it with nsenter; the test reads its files through /proc/HOLDER/root.
import {spawn, type ChildProcess} from 'node:child_process';
import {toolPath} from './tools.js';

export interface PrivateTmp {
  holder: number;
  /** The path, seen from outside, of a file in the namespace's /tmp. */
  tmp: (name: string) => string;
  /** argv prefix that runs a command inside the namespace. */
  enter: string[];
  close: () => Promise<void>;
}

/** `setup`: more shell run inside the namespace before it is ready (e.g. mounts that only it sees). */
export async function privateTmp(setup = ''): Promise<PrivateTmp> {
  for (const [tool, pkg] of [['unshare', 'util-linux'], ['nsenter', 'util-linux'], ['mount', 'mount']] as const) {
    try {
      toolPath(tool);
    } catch {
      throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
    }
  }
  const child: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', '--', 'bash', '-c', `mount -t tmpfs tdxw-private-tmp /tmp && ${setup ? `{ ${setup}; } && ` : ''}echo ready && exec sleep 3600`], {stdio: ['ignore', 'pipe', 'pipe']});
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`unshare -m with a private /tmp failed (exit ${code}): ${err} (the test needs root, for mount namespaces)`)));
  });
  const holder = child.pid!;
  return {
    holder,
    tmp: (name) => `/proc/${holder}/root/tmp/${name}`,
    enter: ['nsenter', '-t', String(holder), '-m', '--'],
    close: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.on('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
