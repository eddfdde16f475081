// Lines of every era's guest, launcher and QEMU as they reach the serial log or the launcher's
// terminal, each with the statement in the upstream file that prints it (quoted exactly, so a
// change upstream shows in test/hints-eras.test.ts) and the hint it must get.
// Guest files are the vendored copies (test/fixtures/vendor/upstream); launchers are read from
// shared/upstream beside the checkout, as test/run-td.test.ts does; chutes-cvm (E6), whose source
// is not copied there, from shared/reference/upstream-eras.md.
import {readFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import type {EraId} from '../../src/era/eras.js';
import {upstreamFile} from './guest-eras.js';

export const SHARED_UPSTREAM = resolve('../shared/upstream');
export const ERAS_REFERENCE = resolve('../shared/reference/upstream-eras.md');

export type Where =
  | {era: EraId; guest: string}
  | {launcher: string}
  | {reference: true};

export interface UpstreamLine {
  where: Where;
  /** Statements in the file, verbatim (the first string literal of each is what it prints). */
  quote: string[];
  /** Values of the variables in the quoted strings (`$VAR`, `${VAR}`, `{expr}`) for this line. */
  vars?: Record<string, string>;
  /** The line as it appears (initramfs-tools prefixes: "Begin: … ... " without a newline, "Failure: ", "Success: "). */
  line: string;
  id: string;
}

export function pathOf(where: Where): string {
  if ('guest' in where) return upstreamFile(where.era, where.guest);
  if ('launcher' in where) return join(SHARED_UPSTREAM, where.launcher);
  return ERAS_REFERENCE;
}

export function textOf(where: Where): string {
  return readFileSync(pathOf(where), 'utf8');
}

/** What a quoted statement prints: its first string literal (or the backquoted text of the reference), variables filled in. */
export function rendered(quote: string, vars: Record<string, string> = {}): string {
  const literal = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`([^`]*)`?/.exec(quote);
  let text = literal ? (literal[1] ?? literal[2] ?? literal[3] ?? '') : quote;
  // Longest names first: ${VAR} before $VAR.
  for (const [name, value] of Object.entries(vars).sort((a, b) => b[0].length - a[0].length)) text = text.split(name).join(value);
  return text;
}

const E4_STORAGE = {era: 'E4', guest: 'ansible/k3s/roles/luks/files/initramfs/setup_storage'} as const;
const E5_STORAGE = {era: 'E5', guest: 'ansible/k3s/roles/luks/files/initramfs/setup_storage'} as const;
const E6_STORAGE = {era: 'E6', guest: 'ansible/guest/roles/prepare-boot-image/files/initramfs/setup_storage'} as const;
const E6_DEBUG = {era: 'E6', guest: 'ansible/guest/roles/prepare-boot-image/files/initramfs/setup_storage_debug'} as const;
const E3B_CONTAINERD = {era: 'E3b', guest: 'ansible/k3s/roles/luks/files/initramfs/setup_containerd_cache'} as const;
const E4_UNLOCK = {era: 'E4', guest: 'ansible/k3s/roles/luks/files/initramfs/fetch_key_and_unlock'} as const;
const E4_VERIFY_CONFIG = {era: 'E4', guest: 'ansible/k3s/roles/config/files/verify-config-volume.sh'} as const;
const E4_PROCESS_CONFIG = {era: 'E4', guest: 'ansible/k3s/roles/config/files/process-config.py'} as const;
const E4_VERIFY_STORAGE = {era: 'E4', guest: 'ansible/k3s/roles/cache-volume/files/verify-storage.sh'} as const;
const E5_VERIFY_CACHE = {era: 'E5', guest: 'ansible/k3s/roles/cache-volume/files/verify-cache-volume.sh'} as const;
const E3_RUN_TD = {launcher: '2026-01_containerd_chutesai-e9c8032/host-tools/scripts/run-td'} as const;
const E4_RUN_TD = {launcher: '2026-02_doc-era_kierr-5255961/host-tools/scripts/run-td'} as const;
const E5_MAIN = {launcher: '2026-02_raw_kierr-c5a0b61/host-tools/scripts/chutes_host/__main__.py'} as const;
const E5_QEMU = {launcher: '2026-02_raw_kierr-c5a0b61/host-tools/scripts/chutes_host/qemu.py'} as const;
const REF = {reference: true} as const;

const STORAGE = {$STORAGE_LABEL: 'storage', $CACHE_LABEL: 'tdx-cache'};
const FAILED = 'log_failure_msg "Storage setup failed: $reason"';
const KMSG = 'echo "STORAGE-SETUP-FAILED: $reason" > /dev/kmsg';
const UNLOCK_FAILED = 'log_failure_msg "TDX unlock failed: $reason"';
const PY_LOG = 'log_entry = f"[{timestamp}] {level}: {message}"';
const ts = '[2026-02-11 10:00:00]';

export const UPSTREAM_LINES: UpstreamLine[] = [
  // setup_storage (February 2026 production initramfs): the storage lines
  {where: E4_STORAGE, quote: ['log_begin_msg "Detecting storage device by label: $STORAGE_LABEL"', 'log_failure_msg "No device found with label \'$STORAGE_LABEL\'"'], vars: STORAGE,
    line: "Begin: Detecting storage device by label: storage ... Begin: Filesystem label not found, checking for LUKS devices ... Failure: No device found with label 'storage'", id: 'storage-missing'},
  {where: E4_STORAGE, quote: ['log_failure_msg "Ensure the storage volume was created with create-cache.sh script"'], line: 'Failure: Ensure the storage volume was created with create-cache.sh script', id: 'storage-create-advice'},
  {where: E4_STORAGE, quote: [FAILED, 'handle_failure "No storage device found"'], vars: {$reason: 'No storage device found'}, line: 'Failure: Storage setup failed: No storage device found', id: 'storage-missing'},
  {where: E4_STORAGE, quote: [KMSG], vars: {$reason: 'No storage device found'}, line: '[   14.203118] STORAGE-SETUP-FAILED: No storage device found', id: 'storage-missing'},
  {where: E4_STORAGE, quote: ['log_failure_msg "No device found with label \'$CACHE_LABEL\' - cache is required for VM"'], vars: STORAGE, line: "Failure: No device found with label 'tdx-cache' - cache is required for VM", id: 'cache-required-missing'},
  {where: E4_STORAGE, quote: [FAILED, 'handle_failure "Cache device not found (required for VM)"'], vars: {$reason: 'Cache device not found (required for VM)'}, line: 'Failure: Storage setup failed: Cache device not found (required for VM)', id: 'cache-required-missing'},
  {where: E4_STORAGE, quote: [KMSG], vars: {$reason: 'Cache device not found (required for VM)'}, line: '[   14.2] STORAGE-SETUP-FAILED: Cache device not found (required for VM)', id: 'cache-required-missing'},
  {where: E4_STORAGE, quote: ['log_begin_msg "Storage device is NOT encrypted (first boot)"', 'log_begin_msg "Encrypting storage (first boot)"'], line: 'Begin: Storage device is NOT encrypted (first boot) ... Begin: Encrypting storage (first boot) ... ', id: 'first-boot-encrypt'},
  {where: E4_STORAGE, quote: ['log_begin_msg "Cache device is NOT encrypted (first boot)"'], line: 'Begin: Cache device is NOT encrypted (first boot) ... Begin: Encrypting cache (first boot) ... ', id: 'first-boot-encrypt'},
  {where: E3B_CONTAINERD, quote: ['log_begin_msg "Containerd device is NOT encrypted (first boot)"'], line: 'Begin: Containerd device is NOT encrypted (first boot) ... ', id: 'first-boot-encrypt'},
  {where: E3B_CONTAINERD, quote: ['log_failure_msg "Ensure the cache volume was created with create-cache.sh script"'], line: 'Failure: Ensure the cache volume was created with create-cache.sh script', id: 'storage-create-advice'},
  {where: E4_STORAGE, quote: ['log_failure_msg "VM will shut down in 10 seconds..."'], line: 'Failure: VM will shut down in 10 seconds...', id: 'shutting-down'},
  {where: E4_STORAGE, quote: ['log_failure_msg "Storage setup failed - VM will shut down in 10 seconds..."'], line: 'Failure: Storage setup failed - VM will shut down in 10 seconds...', id: 'storage-setup-failed'},
  {where: E4_STORAGE, quote: ['echo "STORAGE-SETUP-FAILED" > /dev/kmsg'], line: '[   14.31] STORAGE-SETUP-FAILED', id: 'storage-setup-failed'},
  {where: E4_STORAGE, quote: [FAILED, 'handle_failure "Failed to setup storage"'], vars: {$reason: 'Failed to setup storage'}, line: 'Failure: Storage setup failed: Failed to setup storage', id: 'storage-setup-failed'},
  {where: E4_STORAGE, quote: ['log_failure_msg "Failed to unlock storage"'], line: 'Begin: Unlocking storage ... Failure: Failed to unlock storage', id: 'luks-open-failed'},
  {where: E4_STORAGE, quote: ['log_failure_msg "Failed to unlock cache"'], line: 'Failure: Failed to unlock cache', id: 'luks-open-failed'},
  {where: E4_STORAGE, quote: ['log_failure_msg "POST LUKS sync failed (HTTP $http_code)"'], vars: {$http_code: '403'}, line: 'Failure: POST LUKS sync failed (HTTP 403)', id: 'luks-sync-failed'},
  {where: E4_STORAGE, quote: ['log_failure_msg "No storage key available for unlock"'], line: 'Failure: No storage key available for unlock', id: 'luks-sync-failed'},
  {where: E5_STORAGE, quote: ['log_failure_msg "Failed to parse LUKS sync response (storage key)"'], line: 'Failure: Failed to parse LUKS sync response (storage key)', id: 'luks-sync-failed'},
  {where: E4_STORAGE, quote: ['log_success_msg "Storage and cache setup completed successfully"'], line: 'Success: Storage and cache setup completed successfully', id: 'storage-setup-ok'},
  // setup_storage (newest, E6): API format, kubeconfig purge
  {where: E6_STORAGE, quote: ['log_failure_msg "Unexpected API response format (missing \'volumes\' — wrong API version?)"'], line: "Failure: Unexpected API response format (missing 'volumes' — wrong API version?)", id: 'api-format-mismatch'},
  {where: E6_STORAGE, quote: ['log_failure_msg "Failed to mount storage volume for kubeconfig purge"'], line: 'Begin: Purging admin kubeconfig from storage volume ... Failure: Failed to mount storage volume for kubeconfig purge', id: 'kubeconfig-purge-mount'},
  {where: E6_STORAGE, quote: ['log_failure_msg "Admin kubeconfig purge or RTMR3 measurement failed"'], line: 'Failure: Admin kubeconfig purge or RTMR3 measurement failed', id: 'kubeconfig-purge-failed'},
  {where: E6_STORAGE, quote: ['log_failure_msg "FATAL: tdx-rtmr-extend failed — powering off"'], line: 'Failure: FATAL: tdx-rtmr-extend failed — powering off', id: 'rtmr-extend-failed'},
  {where: E6_STORAGE, quote: ['echo "SETUP-STORAGE: tdx-rtmr-extend failed" > /dev/kmsg'], line: '[   20.1] SETUP-STORAGE: tdx-rtmr-extend failed', id: 'rtmr-extend-failed'},
  {where: E6_STORAGE, quote: [KMSG, 'handle_failure "Failed to write k3s encryption config"'], vars: {$reason: 'Failed to write k3s encryption config'}, line: '[   20.2] STORAGE-SETUP-FAILED: Failed to write k3s encryption config', id: 'storage-setup-failed'},
  // setup_storage_debug (newest debug initramfs, fail-open)
  {where: E6_DEBUG, quote: ['log_failure_msg "debug storage/provision failed (continuing boot): $1"'], vars: {$1: 'provision request failed'}, line: 'Failure: debug storage/provision failed (continuing boot): provision request failed', id: 'debug-provision-failed'},
  {where: E6_DEBUG, quote: ['echo "DEBUG-PROVISION-FAILED: $1" > /dev/kmsg'], vars: {$1: 'provision request failed'}, line: '[    9.9] DEBUG-PROVISION-FAILED: provision request failed', id: 'debug-provision-failed'},
  // fetch_key_and_unlock: the config volume in a production initramfs
  {where: E4_UNLOCK, quote: ['log_begin_msg "Mounting config volume"', 'log_failure_msg "Failed to mount config volume"'], line: 'Begin: Mounting config volume ... Failure: Failed to mount config volume', id: 'config-mount-failed'},
  {where: E4_UNLOCK, quote: [UNLOCK_FAILED, 'handle_failure "Failed to mount config volume"'], vars: {$reason: 'Failed to mount config volume'}, line: 'Failure: TDX unlock failed: Failed to mount config volume', id: 'config-mount-failed'},
  {where: E4_UNLOCK, quote: ['echo "TDX-LUKS-UNLOCK-FAILED: $reason" > /dev/kmsg'], vars: {$reason: 'Failed to mount config volume'}, line: '[    8.77] TDX-LUKS-UNLOCK-FAILED: Failed to mount config volume', id: 'config-mount-failed'},
  {where: E4_UNLOCK, quote: [UNLOCK_FAILED, 'handle_failure "Failed to read VM name from config volume"'], vars: {$reason: 'Failed to read VM name from config volume'}, line: 'Failure: TDX unlock failed: Failed to read VM name from config volume', id: 'config-values-unreadable'},
  {where: E4_UNLOCK, quote: ['log_failure_msg "network-config.yaml not found"'], line: 'Begin: Setting up network from config ... Failure: network-config.yaml not found', id: 'config-values-unreadable'},
  {where: E4_UNLOCK, quote: [UNLOCK_FAILED, 'handle_failure "Failed to retrieve LUKS key from API after $RETRY_COUNT attempts"'], vars: {$reason: 'Failed to retrieve LUKS key from API after 3 attempts', $RETRY_COUNT: '3'}, line: 'Failure: TDX unlock failed: Failed to retrieve LUKS key from API after 3 attempts', id: 'luks-unlock-failed'},
  {where: E4_UNLOCK, quote: ['log_failure_msg "TDX unlock failed - VM will shut down in 5 seconds..."'], line: 'Failure: TDX unlock failed - VM will shut down in 5 seconds...', id: 'luks-unlock-failed-bare'},
  {where: E4_UNLOCK, quote: ['echo "TDX-LUKS-UNLOCK-FAILED" > /dev/kmsg'], line: '[    8.9] TDX-LUKS-UNLOCK-FAILED', id: 'luks-unlock-failed-bare'},
  // verify-config-volume.sh and process-config.py (userspace, debug and production)
  {where: E4_VERIFY_CONFIG, quote: ['log_error "Config device with label \'$EXPECTED_LABEL\' not found"', 'echo "ERROR: $1" >&2'], vars: {$EXPECTED_LABEL: 'tdx-config', $1: "Config device with label 'tdx-config' not found"}, line: "ERROR: Config device with label 'tdx-config' not found", id: 'config-missing'},
  {where: E4_VERIFY_CONFIG, quote: ['log_error "The config volume was not attached to this VM or has wrong label"'], line: 'ERROR: The config volume was not attached to this VM or has wrong label', id: 'config-missing'},
  {where: E4_VERIFY_CONFIG, quote: ['log_error "Config device has wrong filesystem type: $FS_TYPE (expected ext4)"'], vars: {$FS_TYPE: 'xfs'}, line: 'ERROR: Config device has wrong filesystem type: xfs (expected ext4)', id: 'config-wrong-format'},
  {where: E4_PROCESS_CONFIG, quote: [PY_LOG, 'log(f"Invalid miner seed: {msg}", "ERROR")', 'return False, f"Seed length invalid: {len(seed)} (expected 64 hex characters)"'],
    vars: {'{msg}': 'Seed length invalid: 66 (expected 64 hex characters)', '{len(seed)}': '66', '[{timestamp}] {level}: {message}': `${ts} ERROR: Invalid miner seed: Seed length invalid: 66 (expected 64 hex characters)`},
    line: `${ts} ERROR: Invalid miner seed: Seed length invalid: 66 (expected 64 hex characters)`, id: 'config-bad-seed'},
  {where: E4_PROCESS_CONFIG, quote: ['log(f"Invalid miner SS58: {msg}", "ERROR")', 'return False, "SS58 address should start with \'5\' for Bittensor mainnet"'], vars: {'{msg}': "SS58 address should start with '5' for Bittensor mainnet"},
    line: `${ts} ERROR: Invalid miner SS58: SS58 address should start with '5' for Bittensor mainnet`, id: 'config-bad-ss58'},
  {where: E4_PROCESS_CONFIG, quote: ['log(f"Invalid hostname: {msg}", "ERROR")', 'return False, "Hostname contains invalid characters"'], vars: {'{msg}': 'Hostname contains invalid characters'}, line: `${ts} ERROR: Invalid hostname: Hostname contains invalid characters`, id: 'config-bad-hostname'},
  {where: E4_PROCESS_CONFIG, quote: ['log(f"Invalid network config: {msg}", "ERROR")', 'return False, "Network config must have version: 2"'], vars: {'{msg}': 'Network config must have version: 2'}, line: `${ts} ERROR: Invalid network config: Network config must have version: 2`, id: 'config-bad-network'},
  {where: E4_PROCESS_CONFIG, quote: ['log(f"Missing required config files: {missing_files}", "ERROR")'], vars: {'{missing_files}': "['/var/config/miner-seed']"}, line: `${ts} ERROR: Missing required config files: ['/var/config/miner-seed']`, id: 'config-files-missing'},
  {where: E4_PROCESS_CONFIG, quote: ['log("Config validation failed", "ERROR")'], line: `${ts} ERROR: Config validation failed`, id: 'config-validation-failed'},
  // verify-storage.sh and verify-cache-volume.sh (after the mount, February 2026 on)
  {where: E4_VERIFY_STORAGE, quote: ['echo "[$LOG_TAG] ERROR: $*" >&2', 'log_error "$STORAGE_BASE is not mounted"'], vars: {$LOG_TAG: 'verify-storage', '$*': '/cache/storage is not mounted', $STORAGE_BASE: '/cache/storage'}, line: '[verify-storage] ERROR: /cache/storage is not mounted', id: 'volume-not-mounted'},
  {where: E5_VERIFY_CACHE, quote: ['log_error "$SNAP_MOUNT is not mounted"'], vars: {$SNAP_MOUNT: '/var/snap'}, line: '[verify-cache-volume] ERROR: /var/snap is not mounted', id: 'volume-not-mounted'},
  {where: E4_VERIFY_STORAGE, quote: ['log_error "Storage volume is not mounted from a LUKS mapper device in production mode"'], line: '[verify-storage] ERROR: Storage volume is not mounted from a LUKS mapper device in production mode', id: 'prod-cache-not-encrypted'},
  {where: E4_VERIFY_STORAGE, quote: ['log_error "Storage volume device $ACTUAL_DEVICE is encrypted in debug mode"'], vars: {$ACTUAL_DEVICE: '/dev/vdd'}, line: '[verify-storage] ERROR: Storage volume device /dev/vdd is encrypted in debug mode', id: 'debug-cache-encrypted'},
  {where: E4_VERIFY_STORAGE, quote: ['log_error "Storage volume device has wrong label: \'$DEVICE_LABEL\' (expected \'storage\')"'], vars: {$DEVICE_LABEL: 'storage-1'}, line: "[verify-storage] ERROR: Storage volume device has wrong label: 'storage-1' (expected 'storage')", id: 'storage-wrong-label'},
  {where: E4_VERIFY_STORAGE, quote: ['log_error "Debug mode must use an unencrypted device"'], line: '[verify-storage] ERROR: Debug mode must use an unencrypted device', id: 'post-mount-verify-error'},
  {where: E4_VERIFY_STORAGE, quote: ['log_info "Storage verification complete"', 'echo "[$LOG_TAG] $*"'], vars: {$LOG_TAG: 'verify-storage', '$*': 'Storage verification complete'}, line: '[verify-storage] Storage verification complete', id: 'storage-verify-complete'},
  {where: E5_VERIFY_CACHE, quote: ['log_info "Encryption verification passed: $MOUNT_SOURCE is a LUKS encrypted device"'], vars: {$MOUNT_SOURCE: '/dev/mapper/tdx-cache'}, line: '[verify-cache-volume] Encryption verification passed: /dev/mapper/tdx-cache is a LUKS encrypted device', id: 'cache-verify-complete'},
  // Launchers: run-td (E3 to E5) and chutes_host
  {where: E3_RUN_TD, quote: ['print("Error: --image is required")'], line: 'Error: --image is required', id: 'run-td-no-image'},
  {where: E5_MAIN, quote: ['print("Error: --image is required")'], line: 'Error: --image is required', id: 'run-td-no-image'},
  {where: E3_RUN_TD, quote: ['print("ERROR: --network-type tap requires --net-iface")'], line: 'ERROR: --network-type tap requires --net-iface', id: 'run-td-tap-iface'},
  {where: E5_QEMU, quote: ['print("ERROR: --network-type tap requires --net-iface")'], line: 'ERROR: --network-type tap requires --net-iface', id: 'run-td-tap-iface'},
  {where: E4_RUN_TD, quote: ["print(f'TDX VM running with PID: {pid}')"], vars: {'{pid}': '4242'}, line: 'TDX VM running with PID: 4242', id: 'launcher-vm-pid'},
  // QEMU's own refusal of a raw file passed as qcow2 (E4 run-td hard-codes format=qcow2): the real message is checked with qemu-img in the test
  {where: E4_RUN_TD, quote: ["f'file={cache_volume},if=virtio,cache=none,format=qcow2'"], vars: {'{cache_volume}': 'cache-h.raw'},
    line: 'qemu-system-x86_64: -drive file=cache-h.raw,if=virtio,cache=none,format=qcow2: Image is not in qcow2 format', id: 'qemu-not-qcow2'},
  // chutes-cvm guest launch (E6), from the reference
  {where: REF, quote: ['`Error: a TDX VM (QEMU, chutes-td) is already running.`'], line: 'Error: a TDX VM (QEMU, chutes-td) is already running.', id: 'cvm-already-running'},
  {where: REF, quote: ['`Error: QEMU failed (exit N).`'], vars: {N: '1'}, line: 'Error: QEMU failed (exit 1).', id: 'cvm-qemu-failed'},
  {where: REF, quote: ['`Error: VM launch failed (the QEMU boot exited non-zero)'], line: 'Error: VM launch failed (the QEMU boot exited non-zero). See output above and /tmp/tdx-guest-td.log if daemonized.', id: 'cvm-qemu-failed'},
];

/** The hints exercised here and by runs of real programs in test/hints-eras.test.ts. */
export const UPSTREAM_HINT_IDS = new Set([...UPSTREAM_LINES.map((l) => l.id), 'run-td-volume-flag', 'launcher-argparse']);
