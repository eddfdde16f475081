// One adapter per upstream launcher kind (Era.launcher), behind one interface: how its command is
// built from the launch fields, which of the wizard's launch flags it has a use for, what it needs
// on the host before it is run, how a launch is judged, and how the VM it started is found and
// stopped. Code outside src/vm/adapters asks adapterFor(era) and never names an era or a kind.
import type {Era, Role} from '../../era/eras.js';
import type {EraCheckOptions} from '../../host/era-checks.js';
import type {Runner, RunResult} from '../../runner/runner.js';
import type {VolumeVerdict} from '../../volume/verdict.js';
import type {FieldError, LaunchFields, LaunchInput, NetworkType} from '../fields.js';
import type {LaunchJudgement} from '../launch-outcome.js';
import type {PidState} from '../pid.js';

export interface Invocation {
  cmd: string;
  args: string[];
  /** Where it must run: run-td of E3/E4 finds its firmware relative to the current directory. */
  cwd?: string;
  /** On top of the wizard's own environment. */
  env?: Record<string, string>;
  /** Values to mask in what is shown and recorded. */
  secrets: string[];
  title: string;
}

export interface VmProbe {
  running: boolean;
  pid?: number;
  pidState: PidState;
  /** What was read and what it said: "pid file /tmp/tdx-td-pid.pid: 1234", "/proc/1234/cmdline: … process=chutes-td". */
  evidence: string[];
  /** After a launch: how judgeLaunch weighed the launcher's lines, the pid file and the first serial lines. */
  judged?: LaunchJudgement;
}

/** What the volume check found: E1 checks its one cache volume, later eras the whole set. */
export interface VolumeCheck {
  verdict?: VolumeVerdict;
  /** Problems that would make the guest power off, each with its fix; empty when all is well. */
  problems: Array<{text: string; fix?: string}>;
}

export interface CheckContext {
  /** The cache volume check of E1 (given so that tests can replace it). */
  verify: (path: string) => Promise<VolumeVerdict>;
  sysRoot: string;
}

/** A wizard launch option (commander's camelCase key) and why a launcher has no use for it. */
export type OptionKey =
  | 'hostname' | 'minerSs58' | 'minerSeedFile' | 'minerSeed' | 'networkType' | 'netIface' | 'vmIp' | 'vmGateway' | 'vmDns' | 'sshPort' | 'image' | 'vcpus' | 'mem';

/** What the operator gave: every launch option, and the volume paths by role. */
export type LaunchInputAll = LaunchInput & {volumes: Partial<Record<Role, string>>};
export type FieldCheck = {ok: true; value: LaunchFields; notes: string[]} | {ok: false; errors: FieldError[]};

export interface LauncherAdapter {
  kind: Era['launcher'];
  /** Checks the options this launcher takes, each with its fix (all at once, for the wizard's forms too). */
  checkFields(input: LaunchInputAll, sysRoot: string): FieldCheck;
  /** The launch options this launcher takes (volume flags come from the era's volume specs). */
  options: readonly OptionKey[];
  /** The network types it passes on, the first its default (the wizard's form offers only these). */
  networkTypes: readonly NetworkType[];
  /** Why an option outside `options` is refused, in one phrase. */
  unusedReason: string;
  /** Said once before launching, when the upstream path exposes the seed anyway. */
  exposure?: string;
  /** What happens to the config volume at launch, when the launcher writes it (chutes-cvm rebuilds it); read-only otherwise. */
  configVolume?: string;
  /** What --image names: a disk image file (the default), or the directory of an image set (chutes-cvm). */
  imageKind?: 'file' | 'image-set';
  buildInvocation(launcher: string, fields: LaunchFields, era: Era): Invocation;
  /** Refusals that need the host, not the fields: the failed era checks (firmware, python3 and its modules, image format, the TAP interface). */
  preflight(launcher: string, fields: LaunchFields, era: Era, ctx: EraCheckOptions): Promise<Array<{text: string; fix: string}>>;
  checkVolumes(fields: LaunchFields, era: Era, ctx: CheckContext): Promise<VolumeCheck>;
  /**
   * After the launcher returned 0: is a VM running? Judged from the pid file, /proc, the launcher's
   * lines and `serialLines` (the first lines of the serial log written since this launch; none when
   * it was not touched). Throws a StepError saying what QEMU printed if no VM started.
   */
  confirmLaunch(result: RunResult, launcher: string, serialLines: readonly string[]): VmProbe;
  status(): VmProbe;
  stopInvocation(launcher: string): Invocation;
  /** Runs stopInvocation, then confirms from the pid file and /proc that the VM is gone. */
  stop(runner: Runner, launcher: string, signal?: AbortSignal): Promise<{result: RunResult; after: VmProbe}>;
}

/** The volume paths by role, from the launch fields. */
export function volumesOf(fields: LaunchFields): Partial<Record<Role, string>> {
  return {...(fields.cacheVolume ? {cache: fields.cacheVolume} : {}), ...fields.volumes};
}
