// Tools for the reliability tests (test/reliability): stand-in programs that block at a chosen step
// or fail, leftover checks (FUSE mounts, qemu daemons, half-made files), a small tmpfs, running the
// CLI as another user, and passing raw (non-UTF-8) bytes as arguments.
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {CLI, type CliResult} from './cli.js';
import {sh, toolPath} from './tools.js';

export const SIGNAL_EXIT = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

export interface Matcher {
  /** A bash test on the arguments, e.g. `[ "$1" = convert ]`. Default: every call. */
  when?: string;
  /** Only the nth call that matches `when` (1-based). Default: every matching call. */
  nth?: number;
}

function matchPrologue(dir: string, name: string, m: Matcher): string {
  const counter = join(dir, `.${name}.calls`);
  const when = m.when ?? 'true';
  if (!m.nth) return `match() { ${when}; }`;
  return `match() {
  ${when} || return 1
  local n; n=$(( $(cat '${counter}' 2>/dev/null || echo 0) + 1 )); echo $n >'${counter}'
  [ "$n" = ${m.nth} ]
}`;
}

/**
 * A stand-in for `name` placed in `dir` (put first on PATH): when a call matches, it writes its pid
 * to `ready` (atomically), then waits until the file `${ready}.go` exists (see `release`) or
 * `maxWaitMs` passes, then runs the real tool. A stop signal while it waits ends it at once, as the
 * real tool would end. Calls that do not match run the real tool straight away.
 */
export function blockingTool(dir: string, name: string, ready: string, options: Matcher & {maxWaitMs?: number; real?: string} = {}): void {
  mkdirSync(dir, {recursive: true});
  const real = options.real ?? toolPath(name);
  const rounds = Math.ceil((options.maxWaitMs ?? 60_000) / 50);
  writeFileSync(
    join(dir, name),
    `#!/bin/bash
${matchPrologue(dir, name, options)}
if match "$@"; then
  echo $$ >'${ready}.tmp' && mv '${ready}.tmp' '${ready}'
  trap 'exit 143' TERM INT HUP
  for ((i = 0; i < ${rounds}; i++)); do [ -e '${ready}.go' ] && break; sleep 0.05; done
  trap - TERM INT HUP
fi
exec '${real}' "$@"
`,
    {mode: 0o755},
  );
}

/** Lets a blocked stand-in go on to run the real tool. */
export function release(ready: string): void {
  writeFileSync(`${ready}.go`, '');
}

/** A stand-in that fails the way the real tool does (its message on stderr, its exit code) when a call matches. */
export function failingTool(dir: string, name: string, message: string, options: Matcher & {code?: number; real?: string} = {}): void {
  mkdirSync(dir, {recursive: true});
  const real = options.real ?? toolPath(name);
  writeFileSync(
    join(dir, name),
    `#!/bin/bash
${matchPrologue(dir, name, options)}
if match "$@"; then
  printf '%s\\n' ${shellWord(message)} >&2
  exit ${options.code ?? 1}
fi
exec '${real}' "$@"
`,
    {mode: 0o755},
  );
}

export function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The pid a stand-in wrote to its ready file. */
export function readyPid(ready: string): number {
  return Number(readFileSync(ready, 'utf8').trim());
}

/** Mount lines (from /proc/self/mountinfo) whose mount point lies under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' ').startsWith(dir));
}

/** Live processes (pid and argv) whose program is one of `programs` and whose arguments mention `dir`. */
export function processesUsing(dir: string, programs = ['qemu-storage-daemon', 'qemu-nbd', 'qemu-img']): Array<{pid: number; argv: string[]}> {
  const found: Array<{pid: number; argv: string[]}> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || !alive(Number(name))) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const program = (argv[0] ?? '').split('/').pop() ?? '';
    if (programs.includes(program) && argv.some((a) => a.includes(dir))) found.push({pid: Number(name), argv});
  }
  return found;
}

/** Every process whose open files include something under `dir` (root sees them all). */
export function processesHolding(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    if (fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${name}/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    })) pids.push(Number(name));
  }
  return pids;
}

/** A tmpfs of `size` mounted on `dir` (we run as root); returns the unmount. */
export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, {recursive: true});
  sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return () => {
    if (mountsUnder(dir).length) sh('umount', [dir]);
  };
}

/** A read-only bind mount of `dir` onto itself; returns the unmount. */
export function bindReadOnly(dir: string): () => void {
  sh('mount', ['--bind', dir, dir]);
  sh('mount', ['-o', 'remount,bind,ro', dir]);
  return () => {
    if (mountsUnder(dir).length) sh('umount', [dir]);
  };
}

/** ANSI-C quoting for bash: every byte outside printable ASCII as \xHH, so raw bytes survive. */
function ansiC(arg: string | Buffer): string {
  const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
  let out = "$'";
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `${out}'`;
}

/**
 * Runs the CLI with arguments that may hold raw bytes (Buffers): Node's spawn would re-encode a
 * Buffer as UTF-8, so the argv is built by bash from ANSI-C quoted words, byte for byte.
 */
export function runCliBytes(args: Array<string | Buffer>, options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): CliResult {
  const script = `exec ${ansiC(process.execPath)} ${ansiC(CLI)} ${args.map(ansiC).join(' ')}`;
  const r = spawnSync('bash', ['-c', script], {cwd: options.cwd, env: {...process.env, ...options.env}, input: '', encoding: 'utf8', timeout: 120_000});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Runs the CLI as `nobody` (uid/gid 65534, no supplementary groups), as an operator without root would. */
export function runCliAsNobody(args: string[], options: {cwd?: string; env?: NodeJS.ProcessEnv} = {}): CliResult {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, CLI, ...args], {
    cwd: options.cwd ?? '/',
    env: {...process.env, HOME: '/nonexistent', ...options.env},
    input: '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

/** Every regular file below `dir`. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true, encoding: 'utf8'})
    .map((p) => join(dir, p))
    .filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false;
      }
    });
}

export const REPO = resolve('.');

export const STANDIN_LAUNCHER = resolve('test/fixtures/run-tdx.sh');
export const TEST_SEED = '4f1c2a9e8b7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3f2e1d0c9';
export const TEST_SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';

export interface LaunchSetup {
  env: NodeJS.ProcessEnv;
  /** Where the stand-in launcher keeps its pid file, serial log and cloud-init files. */
  run: string;
  volume: string;
  image: string;
  seedFile: string;
  /** launch with every field valid (user networking), the seed from `seedFile` unless told otherwise. */
  args(options?: {launcher?: string; seed?: 'file' | 'none'; extra?: string[]}): string[];
  /** Stops the stand-in VM if one runs (its pid file), gracefully. */
  stopVm(): Promise<void>;
}

/**
 * A launch that can succeed against the stand-in launcher: a real cache volume labelled tdx-cache
 * (verified for real), a guest image file, a seed file (0600), and every wizard and launcher path
 * inside `dir`.
 */
export function launchSetup(dir: string, makeVolume: (dir: string, name: string) => string): LaunchSetup {
  const run = join(dir, 'run');
  mkdirSync(run, {recursive: true});
  const volume = makeVolume(dir, 'cache-volume.qcow2');
  const image = join(dir, 'tdx-guest.qcow2');
  writeFileSync(image, '');
  const seedFile = join(dir, 'miner-seed');
  writeFileSync(seedFile, `${TEST_SEED}\n`, {mode: 0o600});
  const env: NodeJS.ProcessEnv = {
    TDX_WIZARD_STATE_DIR: join(dir, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(dir, 'config'),
    TDX_WIZARD_PID_FILE: join(run, 'tdx-td-pid.pid'),
    TDX_WIZARD_SERIAL_LOG: join(run, 'tdx-guest-td.log'),
    FAKE_TDX_TMP: run,
    FAKE_TDX_STEP: '0.01',
    TDX_MINER_SEED: '',
    CI: 'true',
  };
  return {
    env,
    run,
    volume,
    image,
    seedFile,
    args: (o = {}) => [
      // E1: the stand-in and the tests' own small launchers play run-tdx.sh, and most carry no signature.
      'launch', '--era', 'E1', '--launcher', o.launcher ?? STANDIN_LAUNCHER, '--cache-volume', volume, '--image', image, '--hostname', 'miner-01', '--miner-ss58', TEST_SS58,
      ...(o.seed === 'none' ? [] : ['--miner-seed-file', seedFile]),
      '--network-type', 'user', '--vm-ip', '10.0.2.15', '--vm-gateway', '10.0.2.2',
      ...(o.extra ?? []),
    ],
    stopVm: async () => {
      let pid: number;
      try {
        pid = Number(readFileSync(env.TDX_WIZARD_PID_FILE!, 'utf8').trim());
      } catch {
        return;
      }
      if (!pid || !alive(pid)) return;
      process.kill(pid, 'SIGTERM');
      await waitFor('the stand-in VM to end', () => !alive(pid));
    },
  };
}

/**
 * Every process's argv and environment, read over and over while `child` runs: the ones in which
 * `leaks` finds a secret, and how many times all of /proc was read (a scan count of a few means the
 * search saw little of the run).
 */
export async function watchProcesses(child: {exitCode: number | null}, leaks: (text: string) => boolean): Promise<{seen: string[]; scans: number}> {
  const seen: string[] = [];
  let scans = 0;
  while (child.exitCode === null) {
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      for (const what of ['cmdline', 'environ']) {
        try {
          const text = readFileSync(`/proc/${pid}/${what}`, 'latin1');
          if (leaks(text)) seen.push(`${pid} ${what}: ${text.split('\0').slice(0, 3).join(' ')}`);
        } catch {
          // gone meanwhile
        }
      }
    }
    scans++;
    await new Promise((r) => setImmediate(r));
  }
  return {seen, scans};
}

/** The CLI in a process group of its own, so that the test can signal the group as a terminal would. */
export function startGroup(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, ...args], {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe'], detached: true});
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<CliResult & {toolAliveAtExit: boolean}>((resolve) => child.on('close', (code) => resolve({code, stdout: out, stderr: '', toolAliveAtExit: false})));
  return {child, done, output: () => out};
}

/** strace with a command under it, in the background. */
export function startTraced(args: string[], extraEnv: NodeJS.ProcessEnv) {
  const child = spawn('strace', args, {env: {...process.env, ...extraEnv}, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolveDone) => child.on('close', (code) => resolveDone({code, stdout, stderr})));
  return {child, done};
}

/** The one process strace started. */
export function childOf(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  if (children.length !== 1) throw new Error(`strace (pid ${pid}) has ${children.length} children, not one`);
  return children[0]!;
}
