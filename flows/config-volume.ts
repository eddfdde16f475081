// Build the config volume (hostname, miner SS58 and seed, netplan) without root and without NBD,
// the way `create` builds the cache volume: mkfs.ext4 on a sparse raw file, then qemu-img convert.
// Here mkfs itself copies the files in (`mkfs.ext4 -d DIR`), so nothing is ever mounted.
//
// Where the seed goes: from this process's memory into a file in a private 0700 directory in
// /dev/shm (memory, never the host's disk), which mkfs copies into the raw filesystem beside it;
// that file is removed as soon as mkfs is done, the raw filesystem as soon as qemu-img has
// converted it. The seed is never in any program's argv or environment, and after the build it is
// only in the volume (mode 0600), which is where the guest reads it. A run killed with SIGKILL
// leaves the private directory behind: the next build (or create) removes it and says so.
//
// Upstream (create-config.sh) does it as root with qemu-nbd and a mount, with the seed on sudo's
// command line. test/config-volume-upstream.test.ts runs it and compares the two volumes file by file.
import {constants} from 'node:fs';
import {chmod, mkdir, mkdtemp, open, rename, rm} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {runFlow, type Flow, type FlowStep, type StepEnv} from '../src/flow-runner.js';
import {InUseError, StepError, UsageError} from '../src/errors.js';
import {reclaimFuseLeftovers} from '../src/attach/index.js';
import {imageUse} from '../src/attach/holders.js';
import {CONFIG_LABEL, CONFIG_SIZE} from '../src/era/eras.js';
import {readConfigVolume, type ConfigReadback} from '../src/config-volume/readback.js';
import {renderConfigFiles, type ConfigFile} from '../src/config-volume/render.js';
import type {ConfigValues} from '../src/config-volume/values.js';
import {parseSize} from '../src/volume/size.js';
import {CONFIG_SCRATCH_PREFIX, scratchBase} from '../src/volume/scratch.js';
import {checkTarget, type Target} from '../src/volume/target.js';
import {convert, publish, reclaimCreateLeftovers, removeScratch, reserve, verify, workDirName, type CreateJob} from './create.js';
import {likeATool, withFile} from './create-io.js';

export const CONFIG_SEED_NOTE =
  'The config volume holds the miner seed in clear (the file miner-seed, inside the volume): the guest reads it from there, ' +
  'and upstream\'s create-config.sh stores it the same way. The volume file is mode 0600; keep it so, and keep it on this host.';

export interface ConfigJob extends CreateJob {
  files: ConfigFile[];
  refresh: boolean;
  /** Where the private directory goes: /dev/shm, or the work directory when the operator chose so. */
  scratchBase?: string;
  /** The private directory's subdirectory that becomes the filesystem's root. */
  rootDir?: string;
  readback?: ConfigReadback;
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

const stage: FlowStep<ConfigJob> = {
  id: 'stage',
  title: 'Write the config files in memory',
  changesDisk: true,
  async run(job, env) {
    const base = job.scratchBase ?? job.workDir!;
    // mkdtemp: 0700, a name nobody can guess or take first in a world-writable /dev/shm.
    const template = join(base, `${CONFIG_SCRATCH_PREFIX}${process.pid}-`);
    await env.runner.act(`Make a private directory in ${base} for the config files`, ['mktemp', '-d', `${template}XXXXXX`], async () => {
      job.scratchDir = await mkdtemp(template);
    });
    const dir = job.scratchDir ?? `${template}XXXXXX`;
    const root = (job.rootDir = join(dir, 'root'));
    // The filesystem's root is made from this directory: 0755, as a fresh mkfs root is upstream.
    await env.runner.act('Make the directory that becomes the filesystem root', ['mkdir', '-m', '755', '--', root], async () => {
      await mkdir(root, {mode: 0o755});
      await chmod(root, 0o755); // whatever the umask
    });
    for (const file of job.files) {
      const path = join(root, file.name);
      // The content goes through this process only: the recorded command reads it from stdin.
      await env.runner.act(`Write ${file.name} (${octal(file.mode)})`, ['install', '-m', octal(file.mode), '/dev/stdin', path], () =>
        likeATool(`could not write ${path}`, 'stage', () =>
          withFile(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, async (handle) => {
            await handle.writeFile(file.content);
            await handle.chmod(file.mode); // exact, whatever the umask: mkfs -d copies it
          }, 0o600),
        ),
      );
    }
    job.rawPath = join(dir, 'filesystem.raw');
    await env.runner.act(`Make a sparse ${CONFIG_SIZE} raw file`, ['truncate', '-s', String(job.sizeBytes), '--', job.rawPath], () =>
      withFile(job.rawPath!, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, (file) => file.truncate(job.sizeBytes), 0o600),
    );
  },
  async undo(job, env) {
    await removeScratch(job, env);
  },
};

const mkfs: FlowStep<ConfigJob> = {
  id: 'mkfs',
  title: 'Format ext4 with the files in it',
  changesDisk: true,
  async run(job, env) {
    const root = job.rootDir!;
    try {
      await env.runner.run({cmd: 'mkfs.ext4', args: ['-F', '-L', CONFIG_LABEL, '-E', 'root_owner=0:0', '-d', root, '--', job.rawPath!], title: `Format ext4, label ${CONFIG_LABEL}, with the config files`});
    } finally {
      // The files are in the filesystem now (or mkfs failed): the loose copies go at once.
      await env.runner.act('Remove the loose config files', ['rm', '-rf', '--', root], () => rm(root, {recursive: true, force: true}));
    }
    // mkfs -d copies each file's owner, which is whoever runs the wizard; upstream writes them as
    // root. debugfs sets them to root:root (its commands come on stdin: no file, no argv).
    const names = ['/', '/lost+found', ...job.files.map((f) => `/${f.name}`)];
    const commands = names.flatMap((n) => [`set_inode_field ${n} uid 0`, `set_inode_field ${n} gid 0`]).join('\n');
    const r = await env.runner.run({cmd: 'debugfs', args: ['-w', '-f', '-', '--', job.rawPath!], input: `${commands}\n`, title: 'Make root the owner of every file (as upstream)'});
    // debugfs exits 0 whatever its commands say: its complaints are the lines that are not its prompt or banner.
    const complaints = r.tail.filter((l) => l.trim() && !/^debugfs[: ]/.test(l));
    if (complaints.length) throw new StepError('debugfs could not set the owners', 'mkfs', complaints);
  },
};

const verifyConfig: FlowStep<ConfigJob> = {
  ...verify,
  async verify(job, env) {
    // The container and label (create's own check, with the flush), and every file read back from the qcow2.
    const [evidence, readback] = await Promise.all([verify.verify!(job, env), readConfigVolume(job.qcowPath!, job.files)]);
    job.readback = readback;
    if (readback.problems.length) throw new StepError(`the new config volume is not right: ${readback.problems.join('; ')}`, 'verify');
    return `${evidence}; ${job.files.length} files as written, owned by root, with lost+found`;
  },
};

/** --refresh: only the private work directory beside the volume (no name to reserve). */
const workDir: FlowStep<ConfigJob> = {
  id: 'reserve',
  title: 'Make a work directory beside the volume',
  changesDisk: true,
  async run(job, env) {
    job.workDir = join(job.target.dir, workDirName(job.target.name, process.pid));
    await env.runner.act('Make a private work directory', ['mkdir', '-m', '700', '--', job.workDir], () => mkdir(job.workDir!, {mode: 0o700}));
    job.qcowPath = join(job.workDir, 'volume.qcow2');
  },
  async undo(job, env) {
    if (job.workDir) await env.runner.act('Remove the work directory', ['rm', '-rf', '--', job.workDir], () => rm(job.workDir!, {recursive: true, force: true}));
  },
};

/** --refresh: the new volume replaces the old one in one rename, checked for use right before. */
const swap: FlowStep<ConfigJob> = {
  id: 'publish',
  title: 'Replace the volume',
  changesDisk: true,
  async run(job, env) {
    const {target} = job;
    await env.runner.act(`Replace ${target.path}`, ['mv', '-f', '--', job.qcowPath!, target.path], async () => {
      const use = await imageUse(target.path);
      if (use.inUse) throw new StepError(`${target.path} came into use (${use.detail}) while the new volume was built; it was left as it was`, 'publish', [], 'stop the VM (tdx-wizard stop), then run config-volume --refresh again');
      await rename(job.qcowPath!, target.path);
    });
    await env.runner.act('Remove the work directory', ['rmdir', '--', job.workDir!], () => rm(job.workDir!, {recursive: true, force: true}));
    job.workDir = undefined;
    await env.runner.act(`Write ${target.dir} to disk`, ['sync', '--', target.dir], () => withFile(target.dir, constants.O_RDONLY | constants.O_DIRECTORY, (file) => file.sync()));
  },
};

export function configVolumeFlow(job: ConfigJob): Flow<ConfigJob> {
  const steps: FlowStep<ConfigJob>[] = job.refresh ? [workDir, stage, mkfs, convert, verifyConfig, swap] : [reserve, stage, mkfs, convert, verifyConfig, publish];
  return {id: 'config-volume', title: `${job.refresh ? 'Refresh' : 'Create'} the config volume ${job.target.name}`, steps};
}

export interface BuildConfigOptions {
  path: string;
  /** Already checked (checkConfigValues). */
  values: ConfigValues;
  /** Rewrite an existing config volume (never one in use); a missing one is created. */
  refresh?: boolean;
  /** Consent to create a missing parent directory. */
  createParent?: boolean;
}

export interface BuildConfigResult {
  path: string;
  refreshed: boolean;
  /** The verification's evidence (undefined in a dry run). */
  evidence?: string;
  readback?: ConfigReadback;
}

/**
 * Builds (or with `refresh`, rewrites) the config volume at `path`. Every check that can be made
 * before touching anything throws a UsageError (exit 2): an existing file without `refresh`, a file
 * that is not a config volume or is in use with it, no private place in memory for the seed.
 * The seed and Docker Hub token are registered with the runner as secrets first. Leftovers of killed
 * runs are removed first and said with env.warn; so is CONFIG_SEED_NOTE, once, when the build starts.
 */
export async function buildConfigVolume(env: StepEnv, options: BuildConfigOptions): Promise<BuildConfigResult> {
  const job = await configJob(env, options);
  env.warn(CONFIG_SEED_NOTE);
  await runFlow(configVolumeFlow(job), job, env);
  return {path: job.target.path, refreshed: job.refresh, ...(job.readback ? {readback: job.readback} : {}), evidence: env.runner.dryRun ? undefined : env.store.getState().steps.find((s) => s.id === 'verify')?.detail};
}

/**
 * The job of a config volume build, every check made and nothing touched: for buildConfigVolume,
 * and for prepare, which runs its flow as one part of the whole set.
 */
export async function configJob(env: StepEnv, options: BuildConfigOptions): Promise<ConfigJob> {
  const {runner} = env;
  const {values} = options;
  runner.addSecret(values.minerSeed);
  if (values.dockerHub) runner.addSecret(values.dockerHub.token);
  // What runs killed with SIGKILL left (a private directory holding a seed, a work directory), said as it is removed.
  for (const note of [...(await reclaimCreateLeftovers(runner, options.path)), ...(await reclaimFuseLeftovers(runner))]) env.warn(note);
  const refresh = Boolean(options.refresh);
  const {target, replacing} = await configTarget(options.path, refresh);
  if (target.parentMissing && !options.createParent) throw new UsageError(`${target.dir} does not exist`, 'create it first, or pass --create-parent');
  const sizeBytes = parseSize(CONFIG_SIZE);
  const base = await scratchBase(sizeBytes);
  if (!base && process.env.TDX_WIZARD_SCRATCH_DIR !== '') {
    throw new UsageError('there is no private place in memory for the config files: /dev/shm is not a tmpfs with room, and the miner seed must not be written to this host\'s disk outside the volume', 'mount a tmpfs and point TDX_WIZARD_SCRATCH_DIR at it, or set TDX_WIZARD_SCRATCH_DIR= (empty) to accept a short-lived copy beside the volume');
  }
  if (!base) env.warn(`TDX_WIZARD_SCRATCH_DIR is empty: the config files, the seed among them, are staged beside the volume in ${target.dir} for a moment (removed right after)`);
  runner.preload(); // only now: a refusal above leaves no trace, not even a pipe in TMPDIR
  return {target, sizeBytes, label: CONFIG_LABEL, format: 'qcow2', fs: 'ext4', method: 'offline', createParent: Boolean(options.createParent), files: renderConfigFiles(values), refresh: replacing, ...(base ? {scratchBase: base} : {})};
}

/** The target, refused before anything is touched: `replacing` when --refresh finds a config volume there, not in use. */
async function configTarget(input: string, refresh: boolean): Promise<{target: Target; replacing: boolean}> {
  try {
    return {target: checkTarget(input), replacing: false};
  } catch (error) {
    const path = resolve(input);
    if (!(error instanceof UsageError) || !/already exists/.test(error.message)) throw error;
    if (!refresh) throw new UsageError(`${path} already exists`, `pass --refresh to rewrite it with these values (only while no VM uses it), or choose another name; tdx-wizard inspect ${path} shows what it holds`);
  }
  const path = resolve(input);
  let readback: ConfigReadback;
  try {
    readback = await readConfigVolume(path);
  } catch (error) {
    throw new UsageError(`${path} is not a qcow2 config volume (${(error as Error).message})`, '--refresh only rewrites a config volume; choose another name for a new one');
  }
  if (readback.type !== 'ext4' || readback.label !== CONFIG_LABEL) {
    throw new UsageError(`${path} is not a config volume: it holds ${readback.type}${readback.label ? ` labelled "${readback.label}"` : ''}, not ext4 labelled "${CONFIG_LABEL}"`, '--refresh only rewrites a config volume; check the path (tdx-wizard inspect shows what the file holds)');
  }
  const use = await imageUse(path);
  if (use.inUse) throw new InUseError(`${path} is in use (${use.detail}): a running VM reads its config volume, and rewriting it now would change it under the guest`, 'stop the VM first (tdx-wizard stop), then run config-volume --refresh again');
  const dir = resolve(path, '..');
  return {target: {path, dir, name: path.slice(dir.length + 1), parentMissing: false, warnings: []}, replacing: true};
}
