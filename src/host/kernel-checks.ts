// What the kernel offers: nbd (optional: volumes can be attached through FUSE instead), /dev/fuse,
// /dev/kvm, and TDX. Read from sysfs and /dev below the configured roots; the kernel log through
// the runner.
import {stat} from 'node:fs/promises';
import {join} from 'node:path';
import {StepError} from '../errors.js';
import {listDevices} from '../nbd/devices.js';
import {readModule} from '../nbd/load.js';
import {readText} from '../nbd/proc.js';
import type {Runner} from '../runner/runner.js';
import {check, type Check} from './check-types.js';
import type {Roots} from './roots.js';

/** Whether `modprobe nbd` would work (a dry run through the runner), and what modprobe said. */
export async function nbdLoadable(runner: Runner, signal?: AbortSignal): Promise<{loadable: boolean; said: string}> {
  const dry = await runner.run({cmd: 'modprobe', args: ['-n', '-v', 'nbd'], title: 'Can nbd be loaded? (modprobe dry run)', capture: true, check: false, timeoutMs: 10_000}, {signal});
  return {loadable: dry.exitCode === 0, said: [...dry.stdout.split('\n'), ...dry.tail].map((l) => l.trim()).find(Boolean) ?? `exit code ${dry.exitCode}`};
}

export async function nbdCheck(runner: Runner, roots: Roots, signal?: AbortSignal): Promise<Check> {
  const title = 'nbd kernel module (only for tdx-wizard nbd ...; volumes can go through FUSE without it)';
  const params = join(roots.sys, 'module', 'nbd', 'parameters');
  const info = await readModule(roots);
  if (info.loaded) {
    const devices = await listDevices(roots);
    const busy = devices.filter((d) => d.state !== 'free');
    const evidence = [
      {source: join(params, 'nbds_max'), said: String(info.nbdsMax ?? 'unreadable')},
      {source: join(params, 'max_part'), said: String(info.maxPart ?? 'unreadable')},
      {source: join(roots.sys, 'block', 'nbd*'), said: `${devices.length} devices, ${devices.length - busy.length} free${busy.length ? `; ${busy.map((d) => `${d.name} ${d.state}`).join(', ')}` : ''}`},
    ];
    if (!devices.length) return check('nbd', title, 'warn', 'nbd is loaded but has no devices (nbds_max=0?)', evidence, 'modprobe -r nbd && modprobe nbd nbds_max=16 max_part=8');
    return check('nbd', title, 'ok', `loaded: nbds_max=${info.nbdsMax ?? '?'}, max_part=${info.maxPart ?? '?'}, ${devices.length - busy.length} of ${devices.length} free`, evidence);
  }
  const absent = {source: join(roots.sys, 'module', 'nbd'), said: 'absent: not loaded'};
  try {
    const {loadable, said} = await nbdLoadable(runner, signal);
    const evidence = [absent, {source: 'modprobe -n -v nbd', said}];
    if (loadable) return check('nbd', title, 'warn', 'not loaded, but loadable', evidence, ['modprobe', 'nbd', 'max_part=8']);
    return check('nbd', title, 'warn', 'this kernel has no nbd module; the wizard attaches volumes through FUSE instead', evidence, 'apt-get install linux-modules-extra-$(uname -r)   (Ubuntu; Debian kernels include nbd)');
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    return check('nbd', title, 'warn', 'not loaded; cannot tell whether it is loadable', [absent, {source: 'modprobe -n -v nbd', said: error.message}], ['apt-get', 'install', '-y', 'kmod']);
  }
}

async function devNode(path: string): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  return st.isCharacterDevice() ? `character device ${(st.rdev >> 8) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}` : 'present';
}

export async function fuseCheck(roots: Roots): Promise<Check> {
  const path = join(roots.dev, 'fuse');
  const node = await devNode(path);
  const title = '/dev/fuse (attaching a qcow2 through qemu-storage-daemon to relabel, check or grow it)';
  if (node) return check('fuse', title, 'ok', 'present', [{source: path, said: node}]);
  return check('fuse', title, 'fail', 'missing: volumes cannot be attached through FUSE', [{source: path, said: 'absent'}], ['modprobe', 'fuse']);
}

export async function kvmCheck(roots: Roots): Promise<Check> {
  const path = join(roots.dev, 'kvm');
  const node = await devNode(path);
  const title = '/dev/kvm (the VM runs on KVM)';
  if (node) return check('kvm', title, 'ok', 'present', [{source: path, said: node}]);
  return check('kvm', title, 'fail', 'missing: the VM cannot start', [{source: path, said: 'absent'}], 'enable VMX and TDX in the BIOS, then: modprobe kvm_intel');
}

export const TDX_FIX = 'enable TDX in the BIOS and boot a TDX host kernel with kvm_intel.tdx=1 (see canonical/tdx)';

/** What `dmesg | grep -i tdx` said: its TDX lines, or why the kernel log could not be read. */
export type TdxLog = {ok: true; lines: string[]} | {ok: false; said: string};

/**
 * Reads the kernel log's TDX lines once, however many checks ask. The kernel log can be long: it is
 * filtered in the pipeline, so only TDX lines are recorded. The script is constant (no input is
 * interpolated); dmesg's own failure is passed on.
 */
export function tdxLogReader(runner: Runner, signal?: AbortSignal): () => Promise<TdxLog> {
  let read: Promise<TdxLog> | undefined;
  return () => (read ??= readTdxLog(runner, signal));
}

async function readTdxLog(runner: Runner, signal?: AbortSignal): Promise<TdxLog> {
  const script = 'out=$(dmesg 2>&1) || { printf "%s\\n" "$out" | tail -n 3 >&2; exit 1; }; printf "%s\\n" "$out" | grep -i tdx || true';
  const log = await runner.run({cmd: 'sh', args: ['-c', script], title: 'Read the kernel log for TDX (dmesg | grep -i tdx)', capture: true, check: false, timeoutMs: 15_000}, {signal});
  if (log.exitCode !== 0) return {ok: false, said: log.tail.at(-1) ?? `exit code ${log.exitCode}`};
  return {ok: true, lines: log.stdout.split('\n').map((l) => l.trim()).filter(Boolean)};
}

export async function tdxCheck(runner: Runner, roots: Roots, signal?: AbortSignal, log = tdxLogReader(runner, signal)): Promise<Check> {
  const title = 'TDX enabled in the host kernel';
  const param = join(roots.sys, 'module', 'kvm_intel', 'parameters', 'tdx');
  const value = await readText(param);
  if (value === 'Y' || value === '1') return check('tdx', title, 'ok', 'kvm_intel has TDX on', [{source: param, said: value}]);
  if (value === 'N' || value === '0') return check('tdx', title, 'fail', 'kvm_intel has TDX off', [{source: param, said: value}], TDX_FIX);
  const evidence = [{source: param, said: value ?? 'absent'}];
  const read = await log();
  if (!read.ok) {
    evidence.push({source: 'dmesg', said: read.said});
    return check('tdx', title, 'warn', 'cannot tell: the kernel log is not readable', evidence, 'sudo dmesg | grep -i tdx');
  }
  const initialized = read.lines.find((l) => /tdx: module initialized/i.test(l));
  evidence.push({source: 'dmesg | grep -i tdx', said: initialized ?? (read.lines.slice(-3).join(' | ') || 'no TDX lines')});
  if (initialized) return check('tdx', title, 'ok', 'the TDX module is initialized', evidence);
  return check('tdx', title, 'fail', 'the kernel log does not say "tdx: module initialized"', evidence, TDX_FIX);
}
