// What the launcher of one era needs on the host, each a check with its evidence and fix: TDX as
// that launcher decides it is on, the firmware file it loads, python3 with the modules its files
// import, the TAP interface on its bridge, the boot image's name against its format. Which checks
// apply comes from the era's data (Era.host, the volumes' format rule), never from its name.
// `tdx-wizard check` shows them all; a launch refuses the failed ones (the adapters' preflight).
import {closeSync, openSync, readSync} from 'node:fs';
import {readFile, readlink, realpath, stat} from 'node:fs/promises';
import {basename, dirname, join, resolve} from 'node:path';
import {formatFromName} from '../era/choose.js';
import type {Era, FirmwareSpec, TdxProbe} from '../era/eras.js';
import {readText} from '../nbd/proc.js';
import type {Runner} from '../runner/runner.js';
import {check, type Check, type Evidence} from './check-types.js';
import {TDX_FIX, tdxLogReader, type TdxLog} from './kernel-checks.js';
import type {Roots} from './roots.js';
import {locate} from './tool-checks.js';

export interface EraCheckOptions {
  runner: Runner;
  roots: Roots;
  env?: NodeJS.ProcessEnv;
  /** The PATH python3 is looked for on (tests). */
  searchPath?: string;
  signal?: AbortSignal;
  /** Shared with the generic TDX check, so the kernel log is read once. */
  tdxLog?: () => Promise<TdxLog>;
}

/** The checks of the era found, for `tdx-wizard check` (no launch fields: the TAP is upstream's default). */
export async function eraChecks(era: Era, launcher: string, options: EraCheckOptions): Promise<Check[]> {
  const {host} = era;
  const checks: Check[] = [];
  if (host.tdx) checks.push(await tdxModuleCheck(era, host.tdx, options));
  if (host.firmware) checks.push(await firmwareCheck(era, host.firmware, launcher, options.env));
  if (host.python) checks.push(await pythonCheck(era, launcher, options));
  if (host.tap) checks.push(await tapCheck(era, launcher, options.roots, {required: false}));
  return checks;
}

// --- TDX, as the era's launcher decides it -----------------------------------------------------

const TDX_SOURCE: Record<TdxProbe['kind'], string> = {
  'kernel-cmdline': "quick-launch.sh Step 0 (grep kvm_intel.tdx=1 /proc/cmdline)",
  dmesg: 'quick-launch.sh Step 0 (sudo dmesg | grep -i tdx, must say "module initialized")',
  'kvm-param': 'chutes-cvm guest launch Step 0 (/sys/module/kvm_intel/parameters/tdx = Y)',
};

export async function tdxModuleCheck(era: Era, probe: TdxProbe, options: EraCheckOptions): Promise<Check> {
  const id = 'era:tdx';
  const title = `TDX module initialised, as the ${era.id} launcher checks it: ${TDX_SOURCE[probe.kind]}`;
  const {roots} = options;
  if (probe.kind === 'kernel-cmdline') {
    const path = join(roots.proc, 'cmdline');
    const line = await readText(path);
    const evidence = [{source: path, said: line ?? 'unreadable'}];
    if (line === undefined) return check(id, title, 'warn', `cannot read ${path}`, evidence);
    if (line.split(/\s+/).includes(probe.needle)) return check(id, title, 'ok', `the kernel was booted with ${probe.needle}`, evidence);
    return check(id, title, 'fail', `the kernel command line lacks ${probe.needle}: quick-launch.sh stops with "Host kernel missing 'kvm_intel.tdx=1' parameter"`, evidence, `add ${probe.needle} to GRUB_CMDLINE_LINUX in /etc/default/grub, then: update-grub && reboot`);
  }
  if (probe.kind === 'kvm-param') {
    const path = join(roots.sys, 'module', 'kvm_intel', 'parameters', 'tdx');
    const value = await readText(path);
    const evidence = [{source: path, said: value ?? 'absent'}];
    if (value === 'Y') return check(id, title, 'ok', 'kvm_intel has TDX on (Y)', evidence);
    return check(id, title, 'fail', value === undefined ? 'kvm_intel has no tdx parameter: not a TDX host kernel, or kvm_intel is not loaded' : `kvm_intel's tdx parameter is ${value}, not Y`, evidence, TDX_FIX);
  }
  const read = await (options.tdxLog ?? tdxLogReader(options.runner, options.signal))();
  if (!read.ok) return check(id, title, 'warn', 'cannot tell: the kernel log is not readable (quick-launch.sh reads it with sudo)', [{source: 'dmesg', said: read.said}], 'sudo tdx-wizard check');
  const found = read.lines.find((l) => l.includes(probe.needle));
  const evidence = [{source: 'dmesg | grep -i tdx', said: found ?? (read.lines.slice(-3).join(' | ') || 'no TDX lines')}];
  if (found) return check(id, title, 'ok', `the kernel log says "${probe.needle}"`, evidence);
  return check(id, title, 'fail', `the kernel log does not say "${probe.needle}": quick-launch.sh stops with "TDX module not initialized on this host"`, evidence, TDX_FIX);
}

// --- the firmware file -------------------------------------------------------------------------

async function fileFacts(path: string): Promise<{ok: boolean; said: string}> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return {ok: false, said: 'absent'};
  if (!st.isFile()) return {ok: false, said: 'not a regular file'};
  if (st.size === 0) return {ok: false, said: 'empty (0 bytes)'};
  return {ok: true, said: `present, ${st.size} bytes`};
}

/** Where the era's launcher will look for its firmware, and whether it is there. */
export async function firmwareCheck(era: Era, spec: FirmwareSpec, launcher: string, env: NodeJS.ProcessEnv = process.env): Promise<Check> {
  const id = 'era:firmware';
  if (spec.kind === 'relative') {
    const dir = dirname(resolve(launcher));
    const path = resolve(dir, spec.path);
    const title = `the firmware the ${era.id} launcher loads (${spec.path})`;
    const how = spec.base === 'working-directory' ? `-bios ${spec.path}, relative to the working directory: the wizard runs ${basename(launcher)} from ${dir}` : `${spec.path} relative to the scripts directory ${dir}`;
    const facts = await fileFacts(path);
    const evidence = [{source: `${basename(launcher)} loads`, said: how}, {source: path, said: facts.said}];
    if (facts.ok) return check(id, title, 'ok', path, evidence);
    return check(id, title, 'fail', `${path} is ${facts.said}: QEMU would not start (the TD firmware is measured: upstream ships it in its checkout, it must not be replaced)`, evidence, `use the launcher inside its upstream checkout (host-tools/scripts/, with firmware/${basename(spec.path)} two levels up), or copy the checkout's firmware/${basename(spec.path)} to ${path}`);
  }
  const title = `the firmware the ${era.id} launcher loads (${spec.file} from $${spec.env} or <checkout>/${spec.repoDir})`;
  const fromEnv = env[spec.env];
  if (fromEnv) {
    const path = join(fromEnv, spec.file);
    const facts = await fileFacts(path);
    const evidence = [{source: `$${spec.env}`, said: fromEnv}, {source: path, said: facts.said}];
    if (facts.ok) return check(id, title, 'ok', path, evidence);
    return check(id, title, 'fail', `${path} is ${facts.said}: QEMU would not start`, evidence, `put ${spec.file} from the checkout's ${spec.repoDir}/ in ${fromEnv}, or unset ${spec.env}`);
  }
  // No variable: the checkout is the nearest directory above the launcher (its real path) with firmware/.
  const real = await realpath(launcher).catch(() => resolve(launcher));
  const looked: string[] = [];
  for (let dir = dirname(real), i = 0; i < 5; i++, dir = dirname(dir)) {
    const path = join(dir, spec.repoDir, spec.file);
    const facts = await fileFacts(path);
    if (facts.ok) return check(id, title, 'ok', path, [{source: `$${spec.env}`, said: 'unset'}, {source: path, said: facts.said}]);
    looked.push(path);
    if (dirname(dir) === dir) break;
  }
  const evidence: Evidence[] = [{source: `$${spec.env}`, said: 'unset'}, ...looked.map((source) => ({source, said: 'absent'}))];
  return check(id, title, 'warn', `no ${spec.file} found above ${real}: cannot tell where the chutes-cvm checkout is; QEMU would not start without it`, evidence, `export ${spec.env}=/path/to/sek8s/${spec.repoDir}   (the directory holding ${spec.file}), or check with --launcher <checkout>/host-tools/scripts/quick-launch.sh`);
}

// --- python3 and the modules the launcher's files import ---------------------------------------

/** The Debian package of a Python module, where its name is not python3-<module>. */
const PYTHON_PACKAGE: Record<string, string> = {yaml: 'python3-yaml', jsonschema: 'python3-jsonschema'};
const packageOf = (module: string) => PYTHON_PACKAGE[module] ?? `python3-${module.toLowerCase().replace(/_/g, '-')}`;
const MAX_FILES = 200;

/** The modules a Python file imports, as written (`a.b.c`; relative imports start with dots). */
export function importsOf(text: string): Array<{module: string; names: string[]}> {
  const out: Array<{module: string; names: string[]}> = [];
  for (const line of text.split('\n')) {
    const plain = line.match(/^\s*import\s+([\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*)\s*(?:#.*)?$/);
    if (plain) for (const part of plain[1]!.split(',')) out.push({module: part.trim().split(/\s+/)[0]!, names: []});
    const from = line.match(/^\s*from\s+(\.*[\w.]*)\s+import\s+\(?([\w\s,]*)/);
    if (from) out.push({module: from[1]!, names: from[2]!.split(',').map((n) => n.trim().split(/\s+/)[0]!).filter(Boolean)});
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/**
 * Reads the files and the local modules they import (followed, beside the launcher), and returns
 * the top-level modules that are not local: what python3 must be able to import.
 */
export async function externalImports(dir: string, files: string[]): Promise<{modules: string[]; read: Array<{file: string; imports: string[]}>}> {
  const queue = [...files];
  const seen = new Set<string>();
  const modules = new Set<string>();
  const read: Array<{file: string; imports: string[]}> = [];
  const isLocal = async (top: string) => (await exists(join(dir, `${top}.py`))) || (await exists(join(dir, top)));
  while (queue.length && seen.size < MAX_FILES) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const imports = importsOf(text);
    read.push({file, imports: [...new Set(imports.map((i) => i.module))]});
    for (const {module, names} of imports) {
      if (module.startsWith('.')) {
        // Relative: the package of this file.
        const base = join(dirname(file), ...module.replace(/^\.+/, '').split('.').filter(Boolean));
        for (const n of names) queue.push(join(base, `${n}.py`));
        queue.push(`${base}.py`, join(base, '__init__.py'));
        continue;
      }
      const parts = module.split('.');
      const top = parts[0]!;
      if (top === '__future__') continue;
      if (!(await isLocal(top))) {
        modules.add(top);
        continue;
      }
      for (let i = 1; i <= parts.length; i++) queue.push(join(dir, ...parts.slice(0, i), '__init__.py'));
      queue.push(join(dir, ...parts.slice(0, -1), `${parts.at(-1)}.py`), join(dir, ...parts, '__init__.py'));
      for (const n of names) queue.push(join(dir, ...parts, `${n}.py`));
    }
  }
  const files2 = await Promise.all(read.map(async (r) => ((await isFile(r.file)) ? r : undefined)));
  return {modules: [...modules].sort(), read: files2.filter((r): r is {file: string; imports: string[]} => r !== undefined)};
}

// One python3 for all the modules (a pyenv shim takes a second to start): each imported on its own,
// as `python3 -c 'import M'` would, and its failure's last line kept. The script is constant; the
// module names, read from the launcher's files, are its arguments.
const TRY_IMPORTS = [
  'import importlib, sys',
  'for m in sys.argv[1:]:',
  '    try:',
  '        importlib.import_module(m)',
  '        print("ok", m)',
  '    except BaseException as e:',
  '        print("missing", m, type(e).__name__ + ": " + str(e).splitlines()[0] if str(e) else type(e).__name__)',
].join('\n');

async function tryImports(runner: Runner, python: string, modules: string[], signal?: AbortSignal): Promise<{ok: string[]; missing: Map<string, string>}> {
  const ok: string[] = [];
  const missing = new Map<string, string>();
  if (!modules.length) return {ok, missing};
  const result = await runner.run({cmd: python, args: ['-c', TRY_IMPORTS, ...modules], title: `Can python3 import ${modules.join(', ')}?`, capture: true, check: false, timeoutMs: 30_000, cwd: '/'}, {signal});
  for (const line of result.stdout.split('\n')) {
    const [word, module, ...rest] = line.trim().split(' ');
    if (word === 'ok' && module) ok.push(module);
    if (word === 'missing' && module) missing.set(module, rest.join(' '));
  }
  const said = [...result.tail].reverse().find((l) => l.trim())?.trim() ?? `exit code ${result.exitCode}`;
  for (const module of modules) if (!ok.includes(module) && !missing.has(module)) missing.set(module, `python3 did not answer: ${said}`);
  return {ok, missing};
}

/** python3, and every module the launcher's files (and quick-launch.sh's config parser) import. */
export async function pythonCheck(era: Era, launcher: string, options: EraCheckOptions): Promise<Check> {
  const id = 'era:python';
  const need = era.host.python!;
  const dir = dirname(resolve(launcher));
  const parsers = (await Promise.all(need.configParser.map(async (p) => ((await isFile(join(dir, p))) ? join(dir, p) : undefined)))).filter((p): p is string => p !== undefined);
  const title = `python3 and the modules ${[need.launcher ? basename(launcher) : '', parsers.length ? "quick-launch.sh's config parser" : ''].filter(Boolean).join(' and ') || 'the launcher'} import${need.launcher ? '' : ' (the wizard runs the launcher without it)'}`;
  // Strict: what the wizard runs must start; the parser only matters to quick-launch.sh with a config file.
  const strict = need.launcher;
  const ofLauncher = need.launcher ? await externalImports(dir, [resolve(launcher)]) : {modules: [], read: []};
  const ofParser = await externalImports(dir, parsers);
  const evidence: Evidence[] = [...ofLauncher.read, ...ofParser.read].map((r) => ({source: r.file, said: r.imports.length ? `imports ${r.imports.join(', ')}` : 'imports nothing'}));
  const python = await locate('python3', options.searchPath);
  if (!python) {
    evidence.unshift({source: 'PATH', said: 'no python3'});
    return check(id, title, strict ? 'fail' : 'warn', `python3 is not installed: ${strict ? `${basename(launcher)} is a python3 program` : "quick-launch.sh's config parser is a python3 program"}`, evidence, ['apt-get', 'install', '-y', 'python3']);
  }
  evidence.unshift({source: 'python3', said: python.path});
  const modules = [...new Set([...ofLauncher.modules, ...ofParser.modules])].sort();
  const {ok, missing} = await tryImports(options.runner, python.path, modules, options.signal);
  if (ok.length) evidence.push({source: "python3 -c 'import M'", said: `ok: ${ok.join(', ')}`});
  for (const [module, said] of missing) evidence.push({source: `python3 -c 'import ${module}'`, said});
  if (!missing.size) return check(id, title, 'ok', `python3 imports all ${ok.length} modules`, evidence);
  const needed = [...missing.keys()].filter((m) => ofLauncher.modules.includes(m));
  const fix = ['apt-get', 'install', '-y', ...[...new Set([...missing.keys()].map(packageOf))]];
  if (strict && needed.length) return check(id, title, 'fail', `python3 cannot import ${needed.join(', ')}: ${basename(launcher)} would stop at once`, evidence, fix);
  const names = [...missing.keys()].join(', ');
  return check(id, title, 'warn', `python3 cannot import ${names}: quick-launch.sh with a config file would stop in its config parser (the wizard runs ${basename(launcher)} directly and does not need ${missing.size > 1 ? 'them' : 'it'})`, evidence, fix);
}

// --- the TAP interface on its bridge -----------------------------------------------------------

/** The interface of the default route (/proc/net/route), for setup-bridge.sh's --public-iface. */
export async function defaultRouteIface(roots: Roots): Promise<string | undefined> {
  const text = await readFile(join(roots.proc, 'net', 'route'), 'utf8').catch(() => '');
  for (const line of text.split('\n').slice(1)) {
    const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
    if (iface && destination === '00000000' && mask === '00000000') return iface;
  }
  return undefined;
}

export async function tapCheck(era: Era, launcher: string, roots: Roots, options: {iface?: string; required: boolean}): Promise<Check> {
  const id = 'era:tap';
  const tap = era.host.tap!;
  const iface = options.iface ?? tap.iface;
  const title = `the TAP interface ${iface} on the bridge ${tap.bridge} (network type tap${options.required ? '' : ", quick-launch.sh's default"})`;
  const net = join(roots.sys, 'class', 'net');
  const publicIface = await defaultRouteIface(roots);
  const script = join(dirname(resolve(launcher)), tap.script);
  const fix = `cd ${dirname(script)} && sudo ./${tap.script} --bridge-ip 192.168.100.1/24 --vm-ip 192.168.100.2/24 --vm-dns 8.8.8.8 --public-iface ${publicIface ?? '<the interface of the default route>'}   (upstream's ${tap.script}: makes ${tap.bridge} and ${tap.iface} with NAT; or launch with --network-type user)`;
  const ifaceDir = join(net, iface);
  if (!(await exists(ifaceDir))) {
    const evidence = [{source: ifaceDir, said: 'absent'}, {source: join(net, tap.bridge), said: (await exists(join(net, tap.bridge, 'bridge'))) ? 'a bridge' : 'absent'}, {source: join(roots.proc, 'net/route'), said: publicIface ? `default route via ${publicIface}` : 'no default route'}];
    return check(id, title, options.required ? 'fail' : 'warn', `there is no network interface ${iface}: QEMU would make a TAP attached to nothing and the VM would have no network`, evidence, fix);
  }
  const isTap = await exists(join(ifaceDir, 'tun_flags'));
  const master = await readlink(join(ifaceDir, 'master')).then(basename, () => undefined);
  const enslaved = master ?? ((await exists(join(net, tap.bridge, 'brif', iface))) ? tap.bridge : undefined);
  const evidence = [
    {source: ifaceDir, said: isTap ? 'present, a TUN/TAP device' : 'present'},
    {source: join(ifaceDir, 'master'), said: enslaved ?? 'none: on no bridge'},
  ];
  if (enslaved !== tap.bridge) return check(id, title, 'warn', `${iface} exists but is ${enslaved ? `on ${enslaved}` : 'on no bridge'}, not on ${tap.bridge}: the VM's traffic would not reach upstream's NAT`, evidence, fix);
  return check(id, title, 'ok', `${iface} is on ${tap.bridge}`, evidence);
}

// --- the boot image's name against its format --------------------------------------------------

function isQcow2(path: string): boolean | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from('QFI\xfb', 'latin1'));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Where the launcher picks the format from the name (E5 on), also for the boot image: undefined when it does not, or the image is unreadable. */
export function bootImageCheck(era: Era, image: string | undefined): Check | undefined {
  if (!image || !era.volumes.some((v) => v.formatRule === 'by-extension')) return undefined;
  const qcow2 = isQcow2(image);
  if (qcow2 === undefined) return undefined;
  const id = 'era:boot-image';
  const title = `the guest image's name against its format (the ${era.id} launcher passes format=qcow2 only for a name ending .qcow2)`;
  const named = formatFromName(image) === 'qcow2';
  const evidence = [{source: image, said: qcow2 ? 'qcow2 (QFI\\xfb)' : 'not qcow2 (raw)'}];
  if (qcow2 && !named) return check(id, title, 'fail', `the guest image ${image} is qcow2 but not named .qcow2: the ${era.id} launcher would pass it as raw and the VM would not boot`, evidence, `rename it: mv ${image} ${image.replace(/\.(raw|img)$/i, '')}.qcow2`);
  if (!qcow2 && named) return check(id, title, 'fail', `the guest image ${image} is named .qcow2 but is not qcow2: QEMU would refuse it`, evidence, 'give the guest image as downloaded (qemu-img info shows its format)');
  return check(id, title, 'ok', `${qcow2 ? 'qcow2' : 'raw'}, named accordingly`, evidence);
}
