// The upstream eras as data: what each guest needs from the host (volumes, labels, sizes,
// container formats, filesystems, the config volume), which launcher starts it, and the strings
// that tell its launcher files apart. Everything era-specific in the wizard reads this table;
// nothing else names an era. Source: shared/reference/upstream-eras.md §1, §3, §4, §5.

export type EraId = 'E1' | 'E2' | 'E3a' | 'E3b' | 'E4' | 'E5' | 'E5x' | 'E6';
export type Role = 'cache' | 'storage' | 'containerd' | 'config';
export type DataRole = Exclude<Role, 'config'>;
export type Fs = 'ext4' | 'xfs';
export type ContainerFormat = 'qcow2' | 'raw';
export type LauncherKind = 'run-tdx' | 'run-vm' | 'run-td' | 'chutes-cvm';

/** How a launcher tells QEMU the container format of a volume. */
export type FormatRule =
  /** `format=qcow2` hard-coded: a raw file makes QEMU refuse to start. */
  | 'qcow2-only'
  /** qcow2 iff the name ends in `.qcow2` (any case), raw otherwise. */
  | 'by-extension';

export interface VolumeSpec {
  role: Role;
  /** The label the guest looks for (filesystem label in debug, LUKS2 label once provisioned). */
  label: string;
  /** Upstream's default size, as its scripts write it. */
  defaultSize: string;
  /** Filesystems a debug image mounts (the first is what the wizard makes). */
  debugFs: Fs[];
  /**
   * Who makes the filesystem a production image uses: `host` means the host's one is used as is
   * (unencrypted); `guest` means the initramfs wipes any non-LUKS volume at first boot, encrypts it
   * (LUKS2, same label) and makes `guestFs` inside.
   */
  production: 'host' | 'guest';
  guestFs?: Fs;
  /** The guest powers off (or fails its services) without it. */
  required: boolean;
  /** The launcher's own rule for this volume (the config volume is qcow2 in every era). */
  formatRule: FormatRule;
  /** The container format of a new volume as upstream makes it. */
  newFormat: ContainerFormat;
  /** Upstream's default file name prefix: `<prefix>-<hostname>.<ext>`. */
  filePrefix: string;
  /** The launcher flag that passes it. */
  flag: string;
}

export interface Signature {
  /** A substring of the file. */
  text: string;
  /** Which file carries it. */
  where: string;
}

export interface Era {
  id: EraId;
  title: string;
  /** Upstream commits and dates, for the operator. */
  when: string;
  launcher: LauncherKind;
  /** The file the operator runs. */
  launcherFile: string;
  /**
   * The launcher is an installed program (chutes-cvm, from pip or pipx), looked for on PATH when
   * none is given or remembered and none is in the current directory.
   */
  launcherOnPath?: boolean;
  /** Every volume the guest reads, the config volume included when the era has one. */
  volumes: VolumeSpec[];
  /** Strings that identify the era's launcher files (upstream-eras.md §5), strongest first. */
  signatures: Signature[];
  /** Guests of this era ignore cloud-init: credentials come only from the config volume. */
  credentials: 'cloud-init' | 'config-volume';
  /** What the era's launcher needs on the host (tdx-wizard check; launch refuses what would fail). */
  host: HostNeeds;
}

/**
 * How the era's own launcher (or the quick-launch.sh that calls it) decides that TDX is on:
 * E2 quick-launch.sh greps /proc/cmdline for `kvm_intel.tdx=1`; E3-E5 quick-launch.sh Step 0 greps
 * `dmesg | grep -i tdx` for "module initialized"; E6 chutes-cvm Step 0 reads the kvm_intel parameter.
 */
export type TdxProbe = {kind: 'kernel-cmdline'; needle: string} | {kind: 'dmesg'; needle: string} | {kind: 'kvm-param'};

/** The firmware file QEMU loads. */
export type FirmwareSpec =
  /** A path relative to the launcher's directory: as run from there (E3/E4 relative to the working directory, E5 to the scripts directory). */
  | {kind: 'relative'; path: string; base: 'working-directory' | 'scripts-directory'}
  /** A file in `$env`, else in the checkout's `repoDir` (chutes-cvm: $CHUTES_CVM_FIRMWARE_DIR or <repo>/firmware). */
  | {kind: 'env-or-repo'; file: string; env: string; repoDir: string};

export interface HostNeeds {
  tdx?: TdxProbe;
  firmware?: FirmwareSpec;
  /**
   * Python files beside the launcher whose imports must be importable: `launcher` by what the
   * wizard runs (the launcher file itself, and the local modules it imports, followed), `configParser`
   * only by quick-launch.sh's config-file parsing (parse-config.py, chutes_host/config.py).
   */
  python?: {launcher: boolean; configParser: string[]};
  /** Network type tap: the interface and the bridge upstream's setup-bridge.sh makes. */
  tap?: {iface: string; bridge: string; script: string};
}

export const CONFIG_LABEL = 'tdx-config';
export const CONFIG_SIZE = '10M';
/** XFS keeps at most 12 bytes of label; ext4 16. */
export const LABEL_MAX: Record<Fs, number> = {ext4: 16, xfs: 12};
/** The smallest volume each mkfs makes: mkfs.xfs 6.x refuses under 300 MiB; ext4 needs room for its journal. */
export const FS_MIN_BYTES: Record<Fs, number> = {ext4: 64 * 2 ** 20, xfs: 300 * 2 ** 20};

const TDVF = '../../firmware/TDVF.fd';
const TAP = {iface: 'vmtap0', bridge: 'br0', script: 'setup-bridge.sh'};
const DMESG: TdxProbe = {kind: 'dmesg', needle: 'module initialized'};
const PARSERS = ['parse-config.py', 'chutes_host/config.py'];
/** run-td: E3/E4 as one script (firmware relative to the working directory), E4 8a61bc16 and E5 as the chutes_host package (relative to the scripts directory); the same file when run from its own directory, as the wizard runs it. */
function runTdHost(base: 'working-directory' | 'scripts-directory'): HostNeeds {
  return {tdx: DMESG, firmware: {kind: 'relative', path: TDVF, base}, python: {launcher: true, configParser: PARSERS}, tap: TAP};
}

const config: VolumeSpec = {
  role: 'config',
  label: CONFIG_LABEL,
  defaultSize: CONFIG_SIZE,
  debugFs: ['ext4'],
  production: 'host',
  required: true,
  formatRule: 'qcow2-only',
  newFormat: 'qcow2',
  filePrefix: 'config',
  flag: '--config-volume',
};

function cache(size: string, over: Partial<VolumeSpec> = {}): VolumeSpec {
  return {role: 'cache', label: 'tdx-cache', defaultSize: size, debugFs: ['ext4'], production: 'host', required: true, formatRule: 'qcow2-only', newFormat: 'qcow2', filePrefix: 'cache', flag: '--cache-volume', ...over};
}

function storage(over: Partial<VolumeSpec> = {}): VolumeSpec {
  return {role: 'storage', label: 'storage', defaultSize: '500G', debugFs: ['ext4'], production: 'guest', guestFs: 'ext4', required: true, formatRule: 'qcow2-only', newFormat: 'qcow2', filePrefix: 'storage', flag: '--storage-volume', ...over};
}

/** From E5 on the launcher picks the format from the name, and upstream makes new volumes raw. */
const byName = {formatRule: 'by-extension', newFormat: 'raw'} as const;

export const ERAS: readonly Era[] = [
  {
    id: 'E1',
    title: 'run-tdx.sh (November 2025)',
    when: 'chutesai/sek8s 3bd6a21…94a2200, 2025-11-07…10',
    launcher: 'run-tdx',
    launcherFile: 'run-tdx.sh',
    volumes: [cache('5000G')],
    credentials: 'cloud-init',
    host: {},
    signatures: [
      {text: '# run-tdx.sh — launch Intel-TDX guest, auto-passthrough NVIDIA H200', where: 'run-tdx.sh (launch.sh)'},
      {text: '--cloud-init-user-data', where: 'run-tdx.sh (launch.sh)'},
    ],
  },
  {
    id: 'E2',
    title: 'run-vm.sh with a config volume (November 2025)',
    when: 'chutesai/sek8s 12b37f0…a2ba679, 2025-11-12…21',
    launcher: 'run-vm',
    launcherFile: 'run-vm.sh',
    volumes: [cache('500G'), config],
    credentials: 'config-volume',
    host: {tdx: {kind: 'kernel-cmdline', needle: 'kvm_intel.tdx=1'}, firmware: {kind: 'relative', path: TDVF, base: 'working-directory'}, python: {launcher: false, configParser: PARSERS}, tap: TAP},
    signatures: [
      {text: '# run-vm.sh — launch Intel-TDX guest with volume-based configuration', where: 'run-vm.sh'},
      {text: './run-vm.sh "${LAUNCH_ARGS[@]}"', where: 'quick-launch.sh'},
      {text: '=== TEE VM Deployed Successfully ===', where: 'quick-launch.sh'},
    ],
  },
  {
    id: 'E3a',
    title: 'run-td (December 2025)',
    when: 'chutesai/sek8s e760552…92987b1, 2025-11-25…12-10',
    launcher: 'run-td',
    launcherFile: 'run-td',
    volumes: [cache('5000G'), config],
    credentials: 'config-volume',
    host: runTdHost('working-directory'),
    signatures: [{text: 'python3 ./run-td', where: 'quick-launch.sh (without --containerd-volume or --storage-volume)'}],
  },
  {
    id: 'E3b',
    title: 'run-td with a containerd volume (January 2026)',
    when: 'chutesai/sek8s 3acfbf7…e9c8032, 2025-12-29…2026-01-10',
    launcher: 'run-td',
    launcherFile: 'run-td',
    volumes: [
      cache('5000G'),
      {role: 'containerd', label: 'containerd-cache', defaultSize: '500G', debugFs: ['ext4'], production: 'guest', guestFs: 'ext4', required: true, formatRule: 'qcow2-only', newFormat: 'qcow2', filePrefix: 'containerd', flag: '--containerd-volume'},
      config,
    ],
    credentials: 'config-volume',
    host: runTdHost('working-directory'),
    signatures: [
      {text: '--containerd-volume', where: 'run-td / quick-launch.sh'},
      {text: 'CONTAINERD_SIZE="500G"', where: 'quick-launch.sh'},
    ],
  },
  {
    id: 'E4',
    title: 'run-td with storage + cache + config (February 2026, the document)',
    when: 'kierr/chutes-sek8s 52559611…8a61bc16, 2026-02-11…24',
    launcher: 'run-td',
    launcherFile: 'run-td',
    volumes: [cache('5000G', {production: 'guest', guestFs: 'ext4'}), storage(), config],
    credentials: 'config-volume',
    host: runTdHost('working-directory'),
    signatures: [
      {text: 'python3 -m chutes_host.config', where: 'quick-launch.sh (8a61bc16)'},
      {text: 'from chutes_host.__main__ import main', where: 'run-td (8a61bc16)'},
      {text: '--storage-volume', where: 'run-td / quick-launch.sh'},
      {text: 'STORAGE_SIZE="500G"', where: 'quick-launch.sh'},
    ],
  },
  {
    id: 'E5',
    title: 'run-td with raw volumes (late February 2026)',
    when: 'kierr/chutes-sek8s d27c4c17, c5a0b61, 2026-02-26',
    launcher: 'run-td',
    launcherFile: 'run-td',
    volumes: [cache('5000G', {production: 'guest', guestFs: 'ext4', ...byName}), storage(byName), config],
    credentials: 'config-volume',
    host: runTdHost('scripts-directory'),
    signatures: [
      {text: 'qcow2 volumes cannot be created', where: 'quick-launch.sh'},
      {text: 'cache-${HOSTNAME}.raw', where: 'quick-launch.sh'},
      {text: 'def _block_format', where: 'chutes_host/qemu.py'},
    ],
  },
  {
    id: 'E5x',
    title: 'run-td, XFS only (2026)',
    when: 'pamanseau/sek8s 192531f6',
    launcher: 'run-td',
    launcherFile: 'run-td',
    volumes: [cache('5000G', {production: 'guest', guestFs: 'xfs', debugFs: ['xfs'], ...byName}), storage({guestFs: 'xfs', debugFs: ['xfs'], ...byName}), config],
    credentials: 'config-volume',
    host: runTdHost('scripts-directory'),
    signatures: [
      {text: 'EXPECTED_BASE_SHA256=', where: 'quick-launch.sh'},
      {text: '--overlay-dir', where: 'quick-launch.sh'},
      {text: '--skip-checksum', where: 'quick-launch.sh'},
    ],
  },
  {
    id: 'E6',
    title: 'chutes-cvm (newest)',
    when: 'rayonlabs/sek8s 3a1a37cd',
    launcher: 'chutes-cvm',
    launcherFile: 'chutes-cvm',
    launcherOnPath: true,
    volumes: [cache('5000G', {production: 'guest', guestFs: 'xfs', debugFs: ['xfs', 'ext4'], ...byName}), storage({guestFs: 'xfs', debugFs: ['xfs', 'ext4'], ...byName}), config],
    credentials: 'config-volume',
    host: {tdx: {kind: 'kvm-param'}, firmware: {kind: 'env-or-repo', file: 'OVMF.inteltdx.fd', env: 'CHUTES_CVM_FIRMWARE_DIR', repoDir: 'firmware'}},
    signatures: [
      {text: "quick-launch.sh is deprecated — forwarding to 'chutes-cvm guest launch'", where: 'quick-launch.sh (shim)'},
      {text: 'prog="chutes-cvm guest launch"', where: 'chutes-cvm'},
      {text: 'max 12 chars for XFS', where: 'create-cache.sh'},
      {text: 'Formatted with XFS', where: 'create-cache.sh'},
    ],
  },
];

/** The era of the document the wizard follows (CACHE.md of February 2026). */
export const DEFAULT_ERA: EraId = 'E4';

export const ERA_IDS = ERAS.map((e) => e.id);

/** The era of that id (any case); undefined for an unknown id or none. */
export function findEra(id: string | undefined): Era | undefined {
  const wanted = id?.trim().toLowerCase();
  return ERAS.find((e) => e.id.toLowerCase() === wanted);
}

export function volumeSpec(era: Era, role: Role): VolumeSpec | undefined {
  return era.volumes.find((v) => v.role === role);
}

export function dataVolumes(era: Era): VolumeSpec[] {
  return era.volumes.filter((v) => v.role !== 'config');
}

export function needsConfigVolume(era: Era): boolean {
  return era.volumes.some((v) => v.role === 'config');
}

/** The extension of a volume's file as upstream names it in this era. */
export function extensionFor(spec: VolumeSpec, format: ContainerFormat = spec.newFormat): string {
  return format === 'qcow2' ? 'qcow2' : 'raw';
}

/** Upstream's default file name for a role: `cache-<host>.raw`, `config-<host>.qcow2`. */
export function defaultFileName(spec: VolumeSpec, hostname: string, format: ContainerFormat = spec.newFormat): string {
  return `${spec.filePrefix}-${hostname}.${extensionFor(spec, format)}`;
}

/** What the launcher will tell QEMU the file is, from its name. */
export function launcherFormat(spec: VolumeSpec, path: string): ContainerFormat {
  if (spec.formatRule === 'qcow2-only') return 'qcow2';
  return /\.qcow2$/i.test(path) ? 'qcow2' : 'raw';
}

/** One volume in words: `cache "tdx-cache" 5000G qcow2 ext4` (`xfs|ext4` where the debug guest takes either). */
export function volumeSummary(spec: VolumeSpec): string {
  return `${spec.role} "${spec.label}" ${spec.defaultSize} ${spec.newFormat} ${spec.debugFs.join('|')}`;
}

/** The roles an era knows, for messages: "cache, storage and config". */
export function roleList(era: Era): string {
  const names = era.volumes.map((v) => v.role);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : names.join('');
}
