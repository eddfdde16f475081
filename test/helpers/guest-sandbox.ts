// Runs real upstream guest scripts in a bubblewrap sandbox that sees the attached loop devices and
// nothing else of the host's disks:
// - a tmpfs root; /usr, /sys, and the few /etc files programs need are read-only binds;
//   /etc (the rest), /var, /run, /tmp are empty tmpfs, so what a script writes is thrown away;
// - a fresh /dev (bwrap --dev) holding only the attached loop devices: blkid, which searches every
//   block device it can open, finds only ours, whatever labels the host's other disks (or other
//   tests' loop devices) carry. That makes `blkid -l -t LABEL=` deterministic;
// - new pid, net, ipc and uts namespaces; the scripts run without CAP_SYS_ADMIN or CAP_MKNOD
//   (guest-init.ts), so they cannot mount, remount or reach a device the init did not bind;
// - the loop devices are read-only (losetup -r), so nothing a script does reaches the volume.
import {spawn} from 'node:child_process';
import {chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {BROKER_CLIENT, INIT, STAND_INS, standIn} from './guest-init.js';
import {requireGuestTools} from './guest-tools.js';

export type GuestStep =
  /** A systemd mount unit file of upstream's (a .j2 template is rendered for debug or production). */
  | {kind: 'mount'; unit: string; debug: boolean}
  /** A script, run as its unit runs it (`interpreter` for ExecStart=/usr/bin/python3 …). */
  | {kind: 'script'; path: string; env?: Record<string, string>; interpreter?: string};

export interface GuestRun {
  /** Every step exited 0. */
  ok: boolean;
  /** Each step that ran, in order, with its exit code; the steps after a failed one do not run (Requires=). */
  steps: {name: string; code: number}[];
  /** What the scripts and mount(8) printed (stdout and stderr, in order). Harness lines start with "[harness]". */
  lines: string[];
  /** Stand-in calls, e.g. "shutdown -h now". */
  calls: string[];
  /** The files asked for with `collect`, as the sandbox held them after the last step. */
  files: Record<string, string>;
}

export interface MountUnit {
  what: string;
  where: string;
  type: string;
  options: string;
}

/** Renders the one Jinja form the mount units use ({% if debug_build … %}…{% else %}…{% endif %}) and reads [Mount]. */
export function readMountUnit(path: string, debug: boolean): MountUnit {
  let text = readFileSync(path, 'utf8');
  text = text.replace(/\{%\s*if debug_build[^%]*%\}([\s\S]*?)\{%\s*else\s*%\}([\s\S]*?)\{%\s*endif\s*%\}/g, (_m, a: string, b: string) => (debug ? a : b));
  if (/\{[%{]/.test(text)) throw new Error(`${path}: template syntax the harness does not render`);
  const key = (k: string) => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`${path}: no ${k}= line`);
    return m[1].trim();
  };
  return {what: key('What'), where: key('Where'), type: key('Type'), options: key('Options')};
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function stepName(step: GuestStep): string {
  return basename(step.kind === 'mount' ? step.unit : step.path);
}

function stepsScript(steps: GuestStep[], dir: string): string {
  const out: string[] = [];
  steps.forEach((step, i) => {
    const name = stepName(step);
    out.push(`echo "@@guest begin ${name}"`);
    if (step.kind === 'mount') {
      const u = readMountUnit(step.unit, step.debug);
      out.push(`step_mount ${q(u.what)} ${q(u.where)} ${q(u.type)} ${q(u.options)}; rc=$?`);
    } else {
      const inside = `/run/guest/steps/${i}-${name}`;
      copyFileSync(step.path, join(dir, 'steps', `${i}-${name}`));
      chmodSync(join(dir, 'steps', `${i}-${name}`), 0o755);
      // Word-split by the init (env -i … $envs): plain values only.
      const envs = Object.entries(step.env ?? {}).map(([k, v]) => {
        if (!/^\w+$/.test(k) || !/^[\w./:-]*$/.test(v)) throw new Error(`step env ${k}=${v}: plain words only`);
        return `${k}=${v}`;
      }).join(' ');
      out.push(`step_script ${q(envs)} ${step.interpreter ? `${q(step.interpreter)} ` : ''}${q(inside)}; rc=$?`);
    }
    // A failed unit stops the ones after it (Requires=; OnFailure=poweroff.target in the guest).
    out.push(`echo "@@guest step ${name} exit $rc"`, '[ "$rc" -eq 0 ] || return 0');
  });
  return out.join('\n') + '\n';
}

function parse(stdout: string): GuestRun {
  const run: GuestRun = {ok: true, steps: [], lines: [], calls: [], files: {}};
  let file = '';
  for (const line of stdout.split('\n')) {
    const [, kind = '', rest = ''] = /^@@guest (step|call|file|\||begin) ?(.*)$/.exec(line) ?? [];
    if (kind === 'step') {
      const [, name = '', code = ''] = /^(\S+) exit (\d+)$/.exec(rest) ?? [];
      run.steps.push({name, code: Number(code)});
    } else if (kind === 'call') run.calls.push(rest);
    else if (kind === 'file') run.files[(file = rest)] = '';
    else if (kind === '|') run.files[file] += `${rest}\n`;
    else if (kind === '' && line !== '') run.lines.push(line);
  }
  return run;
}

export async function runGuestSteps(steps: GuestStep[], options: {devices: string[]; collect?: string[]; timeoutMs?: number}): Promise<GuestRun> {
  requireGuestTools('bwrap', 'setpriv', 'blkid', 'findmnt', 'mountpoint', 'mount');
  const dir = mkdtempSync(join(tmpdir(), 'tdxw-guest-'));
  try {
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'steps'));
    for (const name of Object.keys(STAND_INS)) writeFileSync(join(dir, 'bin', name), standIn(name), {mode: 0o755});
    writeFileSync(join(dir, 'bin', 'broker-client'), BROKER_CLIENT, {mode: 0o755});
    writeFileSync(join(dir, 'init.sh'), INIT, {mode: 0o755});
    writeFileSync(join(dir, 'steps.sh'), stepsScript(steps, dir));
    const args = [
      '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--hostname', 'guest',
      '--die-with-parent', '--new-session',
      '--ro-bind', '/usr', '/usr',
      '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64',
      '--proc', '/proc', '--dev', '/dev', '--ro-bind', '/sys', '/sys',
      '--tmpfs', '/etc',
      ...['alternatives', 'ld.so.cache', 'passwd', 'group', 'nsswitch.conf'].flatMap((f) => ['--ro-bind-try', `/etc/${f}`, `/etc/${f}`]),
      '--tmpfs', '/run', '--tmpfs', '/tmp', '--tmpfs', '/var', '--dir', '/cache', '--dir', '/mnt', '--dir', '/root',
      ...options.devices.flatMap((d) => ['--dev-bind', d, d]),
      '--ro-bind', dir, '/run/guest',
      '--clearenv', '--setenv', 'PATH', '/usr/sbin:/usr/bin', '--setenv', 'DEVICES', options.devices.join(' '), '--setenv', 'COLLECT', (options.collect ?? []).join(' '),
      '--cap-add', 'ALL',
      '/run/guest/init.sh',
    ];
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn('bwrap', args, {stdio: ['ignore', 'pipe', 'pipe']});
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code !== 0) reject(new Error(`the guest sandbox failed (bwrap exit ${code}): ${err.trim()}\n${out}`));
        else resolve(out);
      });
    });
    const run = parse(stdout);
    run.ok = run.steps.length === steps.length && run.steps.every((s) => s.code === 0);
    return run;
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}

/** One upstream script, after the mount units it runs after (e.g. var-snap.mount for E4's verify-cache-volume.sh). */
export function runGuestScript(
  script: string,
  opts: {devices: string[]; mounts?: string[]; debug?: boolean; env?: Record<string, string>; interpreter?: string; collect?: string[]},
): Promise<GuestRun> {
  const debug = opts.debug ?? true;
  const steps: GuestStep[] = [
    ...(opts.mounts ?? []).map((unit): GuestStep => ({kind: 'mount', unit, debug})),
    {kind: 'script', path: script, interpreter: opts.interpreter, env: {DEBUG_MODE: String(debug), ...opts.env}},
  ];
  return runGuestSteps(steps, {devices: opts.devices, collect: opts.collect});
}
