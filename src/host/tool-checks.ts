// Are the programs the wizard runs installed, and which versions? Found by looking on PATH (and the
// sbin directories a non-root PATH lacks) without running anything; the version then comes from the
// program itself, through the runner.
import {PACKAGE_OF, type Runner} from '../runner/runner.js';
import {findExecutable, pathDirs, SBIN} from '../runner/search-path.js';
import {check, type Check} from './check-types.js';

interface Tool {
  name: string;
  /** How to make it say its version; undefined: it has no version option. */
  versionArgs?: string[];
  why: string;
  optional?: boolean;
}

export const TOOLS: Tool[] = [
  {name: 'qemu-img', versionArgs: ['--version'], why: 'creates, inspects and resizes the volume'},
  {name: 'qemu-nbd', versionArgs: ['--version'], why: 'attaches a volume as /dev/nbdN'},
  {name: 'mkfs.ext4', versionArgs: ['-V'], why: 'formats the volume'},
  {name: 'mkfs.xfs', versionArgs: ['-V'], why: 'formats XFS volumes (debug guests of E5x and E6)', optional: true},
  {name: 'blkid', versionArgs: ['-V'], why: 'reads the filesystem type and label'},
  {name: 'e2label', why: 'repairs the label'},
  {name: 'e2fsck', versionArgs: ['-V'], why: 'checks the filesystem before a resize'},
  {name: 'resize2fs', versionArgs: [], why: 'grows the filesystem'},
  {name: 'qemu-storage-daemon', versionArgs: ['--version'], why: 'attaches a qcow2 through FUSE, without nbd'},
  {name: 'cryptsetup', versionArgs: ['--version'], why: 'reads LUKS volumes (production guests encrypt the cache)', optional: true},
];


/** Where `name` is: on PATH, else in an sbin directory PATH lacks. */
export async function locate(name: string, searchPath = process.env.PATH ?? '', extraDirs = SBIN): Promise<{path: string; onPath: boolean} | undefined> {
  const dirs = pathDirs(searchPath);
  const found = findExecutable(name, dirs);
  if (found) return {path: found, onPath: true};
  const inSbin = findExecutable(name, extraDirs.filter((d) => !dirs.includes(d)));
  return inSbin ? {path: inSbin, onPath: false} : undefined;
}

export async function toolChecks(runner: Runner, options: {searchPath?: string; extraDirs?: string[]; signal?: AbortSignal} = {}): Promise<Check[]> {
  const checks: Check[] = [];
  for (const tool of TOOLS) {
    const id = `tool:${tool.name}`;
    const title = `${tool.name} (${tool.why})`;
    const pkg = PACKAGE_OF[tool.name] ?? tool.name;
    const found = await locate(tool.name, options.searchPath, options.extraDirs);
    if (!found) {
      checks.push(check(id, title, tool.optional ? 'warn' : 'fail', `${tool.name} is not installed (Debian/Ubuntu package ${pkg})`, [{source: 'PATH and the sbin directories', said: 'not found'}], ['apt-get', 'install', '-y', pkg]));
      continue;
    }
    let version = 'no version option';
    const evidence = [{source: 'found at', said: found.path}];
    if (tool.versionArgs) {
      const result = await runner.run({cmd: found.path, args: tool.versionArgs, title: `${tool.name} version`, capture: true, check: false, timeoutMs: 10_000}, {signal: options.signal});
      const lines = [...result.stdout.split('\n'), ...result.tail].map((l) => l.trim());
      const line = lines.find((l) => /\d+\.\d+/.test(l));
      evidence.push({source: [tool.name, ...tool.versionArgs].join(' '), said: line ?? `exit code ${result.exitCode}: ${lines.find(Boolean) ?? 'no output'}`});
      // Installed but unable to say its version: probably broken (a missing library, a wrong binary).
      if (!line) {
        checks.push(check(id, title, 'warn', `${found.path} did not say its version (exit code ${result.exitCode})`, evidence, `apt-get install --reinstall -y ${pkg}`));
        continue;
      }
      version = line;
    }
    if (!found.onPath) {
      checks.push(check(id, title, 'warn', `${found.path} is installed but its directory is not on PATH`, evidence, `export PATH="$PATH:${found.path.slice(0, found.path.lastIndexOf('/'))}"`));
      continue;
    }
    checks.push(check(id, title, 'ok', version, evidence));
  }
  return checks;
}
