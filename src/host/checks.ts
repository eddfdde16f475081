// tdx-wizard check: what this host has and lacks, each finding with its evidence (the command run
// or the file read, and what it said) and the exact command that fixes it.
import {constants, existsSync} from 'node:fs';
import {access, readFile, stat} from 'node:fs/promises';
import {resolve} from 'node:path';
import {takeInventory} from '../inventory/inventory.js';
import {detectEra, type Detection} from '../era/detect.js';
import type {Era} from '../era/eras.js';
import {processAlive, processArgv} from '../nbd/proc.js';
import {defaultLauncherPath} from '../vm/launcher-file.js';
import {pidFile} from '../paths.js';
import type {Runner} from '../runner/runner.js';
import {formatBytes} from '../volume/size.js';
import {freeBytes} from '../volume/space.js';
import {check, type Check} from './check-types.js';
import {eraChecks} from './era-checks.js';
import {fuseCheck, kvmCheck, nbdCheck, tdxCheck, tdxLogReader} from './kernel-checks.js';
import {hostRoots, type Roots} from './roots.js';
import {toolChecks} from './tool-checks.js';

export type {Check, CheckStatus, Evidence} from './check-types.js';

export interface CheckOptions {
  roots?: Roots;
  /** Where volumes will live (free space). Default: the current directory. */
  dir?: string;
  /** The upstream launcher. Default: ./run-tdx.sh, ./run-td or ./host-tools/scripts/run-td. */
  launcher?: string;
  /** The era chosen or remembered: with no launcher given, an installed one (chutes-cvm) is looked for on PATH. */
  era?: Era;
  /** For tests: the effective user id and the PATH to search. */
  euid?: number;
  searchPath?: string;
  signal?: AbortSignal;
  /** For tests: the environment ($CHUTES_CVM_FIRMWARE_DIR). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Every check; after the launcher's, the checks of the era it was found to be (Era.host: TDX as its
 * launcher checks it, its firmware, python3 and the modules its files import, the TAP interface).
 */
export async function runChecks(runner: Runner, options: CheckOptions = {}): Promise<Check[]> {
  const roots = options.roots ?? hostRoots();
  const tdxLog = tdxLogReader(runner, options.signal);
  const launcher = options.launcher !== undefined ? resolve(options.launcher) : defaultLauncherPath(process.cwd(), options.era);
  const found = (await stat(launcher).catch(() => undefined))?.isFile() ? await detectEra(launcher) : undefined;
  return [
    rootCheck(options.euid ?? process.geteuid?.() ?? 0),
    ...(await toolChecks(runner, {searchPath: options.searchPath, signal: options.signal})),
    await nbdCheck(runner, roots, options.signal),
    await fuseCheck(roots),
    await kvmCheck(roots),
    await tdxCheck(runner, roots, options.signal, tdxLog),
    await spaceCheck(resolve(options.dir ?? '.')),
    await capacityCheck(resolve(options.dir ?? '.')),
    await launcherCheck(launcher, options.launcher !== undefined, found),
    ...(found ? await eraChecks(found.era, launcher, {runner, roots, env: options.env, searchPath: options.searchPath, signal: options.signal, tdxLog}) : []),
    await vmCheck(roots),
  ];
}

const NEEDS_ROOT = [
  'modprobe (loading nbd or fuse)',
  'qemu-nbd --connect (opening /dev/nbdN)',
  'reading the kernel log (dmesg) for TDX',
  'reading the VM pid file /tmp/tdx-td-pid.pid (QEMU makes it 0600)',
  'launching the VM (/dev/kvm, tap devices, vfio)',
];

export function rootCheck(euid: number): Check {
  const evidence = [{source: 'effective user id', said: String(euid)}];
  if (euid === 0) return check('root', 'running as root', 'ok', 'root', evidence);
  return check('root', 'running as root', 'warn', `not root: creating and inspecting volume files works, but these need root: ${NEEDS_ROOT.join('; ')}`, evidence, 'sudo tdx-wizard check');
}

/** What the thin volumes the wizard can find (tdx-wizard volumes) can still grow to, against each host filesystem's free space. */
export async function capacityCheck(dir: string): Promise<Check> {
  const title = 'room for the thin volumes to grow (tdx-wizard volumes lists them)';
  const inv = await takeInventory(existsSync(dir) ? [dir] : []);
  const evidence = inv.capacity.map((c) => ({source: `statfs ${c.dir}`, said: `the volumes there can grow by ${formatBytes(c.growBytes)}; ${c.freeBytes !== undefined ? `${formatBytes(c.freeBytes)} free` : 'free space unknown'}`}));
  if (!inv.entries.length) return check('capacity', title, 'ok', 'no volumes found yet', [{source: 'looked in', said: inv.looked.join(', ') || 'nothing remembered yet'}]);
  const short = inv.capacity.filter((c) => c.warning);
  if (!short.length) return check('capacity', title, 'ok', `${inv.entries.length} volume${inv.entries.length === 1 ? '' : 's'}: every host filesystem can hold what its volumes can grow to`, evidence);
  return check('capacity', title, 'warn', short.map((c) => c.warning!).join('; '), evidence, 'free space on that filesystem, or move a volume to another one (tdx-wizard volumes shows which)');
}

const MIN_BYTES = 2 ** 30;
const COMFORT_BYTES = 100 * 2 ** 30;

export async function spaceCheck(dir: string): Promise<Check> {
  const title = `free space in ${dir} (where the volumes go)`;
  const free = await freeBytes(dir);
  if (free === undefined) return check('space', title, 'warn', 'could not read the free space', [{source: `statfs ${dir}`, said: 'failed'}]);
  const evidence = [{source: `statfs ${dir}`, said: `${formatBytes(free)} available (${free} bytes)`}];
  if (free < MIN_BYTES) return check('space', title, 'fail', `only ${formatBytes(free)} free: too little to create and format a volume`, evidence, `df -h ${dir}   (free some space, or pass --dir with another disk)`);
  if (free < COMFORT_BYTES) {
    return check('space', title, 'warn', `${formatBytes(free)} free: a qcow2 volume grows as the guest fills it (upstream's cache is 5000G); the VM gets I/O errors when the disk is full`, evidence);
  }
  return check('space', title, 'ok', `${formatBytes(free)} free`, evidence);
}

export async function launcherCheck(path: string, given: boolean, detected?: Detection): Promise<Check> {
  const title = 'the upstream launcher and its era';
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    return check('launcher', title, 'warn', `${path} not found: needed only to launch the VM`, [{source: path, said: 'absent'}], given ? undefined : 'tdx-wizard check --launcher /path/to/host-tools/scripts/run-td (or run-tdx.sh)');
  }
  if (!st.isFile()) return check('launcher', title, 'fail', `${path} is not a file`, [{source: path, said: 'not a regular file'}], 'pass --launcher with the path of the launcher (run-td, run-vm.sh or run-tdx.sh)');
  const head = (await readFile(path, 'utf8').catch(() => '')).split('\n').slice(0, 2).join(' | ');
  // Read, never run: every run-td call but --help stops the running VM.
  const found = detected ?? (await detectEra(path));
  const evidence = [{source: path, said: head || '(empty)'}, {source: 'era (the launcher\'s files, read)', said: found ? `${found.era.id}: ${found.evidence}` : 'no known upstream signature'}];
  const canRun = await access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
  if (!canRun || (st.mode & 0o111) === 0) return check('launcher', title, 'fail', `${path} is not executable`, evidence, ['chmod', '+x', path]);
  if (!found) return check('launcher', title, 'warn', `${path} is executable, but its era is unknown: a modified or unknown launcher`, evidence, 'tdx-wizard launch --era E1…E6 (tdx-wizard eras lists them)');
  return check('launcher', title, 'ok', `${path} is executable; era ${found.era.id}, ${found.era.title}`, evidence);
}

export async function vmCheck(roots: Roots): Promise<Check> {
  const file = pidFile();
  const title = 'a VM already running (the launcher\'s pid file)';
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return check('vm', title, 'ok', 'no VM running', [{source: file, said: 'absent'}]);
    return check('vm', title, 'warn', `cannot read ${file} (${code}): QEMU makes it readable by root only`, [{source: file, said: String(code)}], 'sudo tdx-wizard check');
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return check('vm', title, 'warn', `${file} does not hold a pid`, [{source: file, said: JSON.stringify(text.slice(0, 40))}], `rm ${file}`);
  if (!(await processAlive(roots, pid))) {
    return check('vm', title, 'warn', `${file} names pid ${pid}, which is not running: a leftover of a VM that was killed`, [{source: file, said: String(pid)}, {source: `${roots.proc}/${pid}`, said: 'absent'}], `rm ${file}`);
  }
  const argv = (await processArgv(roots, pid)) ?? [];
  const evidence = [{source: file, said: String(pid)}, {source: `${roots.proc}/${pid}/cmdline`, said: argv.slice(0, 3).join(' ') || '(unreadable)'}];
  return check('vm', title, 'warn', `a VM is running (pid ${pid}): its volumes are locked while it runs; stop it before changing them`, evidence, 'tdx-wizard stop (the launcher\'s own --clean, confirmed)');
}
