import {describe, expect, it} from 'vitest';
import {actionFor, HINTS, lastMarker, matchHint, MarkerTracker, prefilter} from '../src/vm/hints.js';
import {UPSTREAM_HINT_IDS} from './helpers/upstream-lines.js';

// One real line for every message of upstream-sek8s.md §5 (and the guest strings of §2 they
// stand for), with the hint it must get.
const CORPUS: Array<[string, string]> = [
  ['=== Cache Volume Verification Started ===', 'cache-verify-started'],
  ['=== Cache Volume Verification Complete ===', 'cache-verify-complete'],
  ['Filesystem label verification: PASSED', 'cache-verify-complete'],
  ['[verify-cache-volume] Cache volume verification complete', 'cache-verify-complete'],
  ['Storage and cache setup completed successfully', 'storage-setup-ok'],
  ['ERROR: Cache device /dev/vdb not found', 'cache-not-found-old'],
  ["ERROR: Cache device with label 'tdx-cache' not found", 'cache-not-found'],
  ['ERROR: The cache volume was not attached to this VM or has wrong label', 'cache-not-found'],
  ["No device found with label 'tdx-cache' - cache is required for VM", 'cache-required-missing'],
  ['ERROR: Cache device has wrong filesystem type: xfs (expected ext4)', 'cache-wrong-filesystem'],
  ["ERROR: Cache device has wrong label: 'tdx-cache-storag' (expected 'tdx-cache')", 'cache-wrong-label'],
  ['ERROR: Failed to read filesystem information from /dev/vdc', 'cache-unreadable'],
  ['ERROR: Filesystem check failed on /dev/vdc', 'cache-fsck-failed'],
  ['ERROR: The cache volume may be corrupt', 'cache-fsck-failed'],
  ["No device found with label 'storage'", 'storage-missing'],
  ['Cache device is NOT encrypted (first boot)', 'first-boot-encrypt'],
  ['Storage device is NOT encrypted (first boot)', 'first-boot-encrypt'],
  ['POST LUKS sync failed (HTTP 503)', 'luks-sync-failed'],
  ["Unexpected API response format (missing 'volumes' — wrong API version?)", 'api-format-mismatch'],
  ['[   12.345678] STORAGE-SETUP-FAILED: Cache device not found (required for VM)', 'cache-required-missing'],
  ['[   12.345678] STORAGE-SETUP-FAILED', 'storage-setup-failed'],
  ['Failure: Storage setup failed: Failed to setup cache', 'storage-setup-failed'],
  ['CONTAINERD-CACHE-SETUP-FAILED: No containerd device found', 'containerd-setup-failed'],
  ["No device found with label 'containerd-cache'", 'containerd-setup-failed'],
  ['TDX-LUKS-UNLOCK-FAILED: attestation failed', 'luks-unlock-failed'],
  ['TDX unlock failed: no key', 'luks-unlock-failed'],
  ["ERROR: Config device with label 'tdx-config' not found", 'config-missing'],
  ['Failed to mount config volume', 'config-mount-failed'],
  ['Failure: VM will shut down in 10 seconds...', 'shutting-down'],
  ['ERROR: Shutting down immediately to prevent boot with missing cache', 'shutting-down'],
  ['Failure: something else entirely', 'initramfs-failure'],
  ['[verify-cache-volume] ERROR: Cache volume is not mounted from a LUKS mapper device in production mode', 'prod-cache-not-encrypted'],
  ['[verify-cache-volume] ERROR: Cache volume device /dev/vdc is encrypted in debug mode', 'debug-cache-encrypted'],
  ['[verify-storage] ERROR: /cache/storage is not mounted', 'volume-not-mounted'],
  ['[verify-cache-volume] ERROR: Expected /dev/mapper/tdx-cache, got: /dev/vdc', 'post-mount-verify-error'],
  ['[verify-cache-device] ERROR: Cache mapper device not found: /dev/mapper/tdx-cache', 'post-mount-verify-error'],
  ['DEBUG-PROVISION-FAILED: no storage', 'debug-provision-failed'],
  ['[   13.000000] reboot: Power down', 'power-down'],
  ['Error: Cache volume file not found: cache.qcow2', 'launcher-cache-missing'],
  ['Error: Cache volume file not readable: /srv/cache.qcow2', 'launcher-cache-unreadable'],
  ['Error: Cache volume is not in qcow2 format: /srv/c.qcow2 (detected: )', 'launcher-cache-locked'],
  ['Error: Cache volume is not in qcow2 format: /srv/c.img (detected: raw)', 'launcher-cache-not-qcow2'],
  ['Error: --network-type is required (tap, macvtap, user).', 'launcher-network-type'],
  ["Error: Invalid --network-type 'bridge'. Use tap, macvtap, or user.", 'launcher-network-type'],
  ['Error: --net-iface is required for macvtap.', 'launcher-net-iface'],
  ['Error: No macvtap subdirectory found for eth0. Ensure it is a macvtap interface.', 'launcher-net-iface'],
  ['Error: Device /dev/tap7 does not exist.', 'launcher-tap-device'],
  ['Error: --vm-ip and --vm-gateway are required.', 'launcher-ip-required'],
  ['Error: --hostname, --miner-ss58, and --miner-seed are required unless --cloud-init-user-data is provided.', 'launcher-credentials-required'],
  ['Error: cloud-localds not found. Ensure cloud-utils is installed.', 'launcher-cloud-localds'],
  ['Unknown option: --config-volume', 'launcher-unknown-option'],
  ['Warning: qemu-img not found, skipping cache volume format verification', 'launcher-no-qemu-img'],
  ['Cache volume validated: /srv/cache.qcow2 (format: qcow2)', 'launcher-cache-ok'],
  ['VM daemonized with PID: 4242', 'launcher-daemonized'],
  ['PID file not found. VM is likely not running.', 'status-not-running'],
  ['QEMU process () is not running.', 'status-pid-unreadable'],
  ['QEMU process (4242) is not running.', 'status-stale'],
  ['QEMU VM is running with PID: 4242', 'status-running'],
  ['qemu-system-x86_64: cannot create PID file: Cannot lock pid file: Resource temporarily unavailable', 'qemu-pidfile-locked'],
  ['qemu-img: Could not open \'c.qcow2\': Failed to get "write" lock', 'image-locked'],
  ['Is another process using the image [c.qcow2]?', 'image-locked'],
  ["qemu-system-x86_64: -object tdx-guest: Parameter 'qom-type' does not accept value 'tdx-guest'", 'qemu-no-tdx'],
  ['qemu-system-x86_64: KVM_TDX_INIT_VM failed: Invalid argument', 'kvm-tdx-init'],
  ['✗ Error: TDX module not initialized on this host', 'tdx-module'],
  ["qemu-system-x86_64: -drive file=x.qcow2,if=virtio: Could not open 'x.qcow2': No such file or directory", 'qemu-image-missing'],
  ['=== Chutes VM Deployed Successfully ===', 'deployed-banner'],
  ['\x1b[0;31mERROR: No available NBD device found\x1b[0m', 'nbd-none-free'],
  ['ERROR: Failed to connect qcow2 to NBD device', 'nbd-connect-failed'],
  ['Failed to connect image to NBD device', 'nbd-connect-failed'],
  ['\x1b[0;31mERROR: Invalid number of arguments\x1b[0m', 'create-args'],
  ['ERROR: Output file already exists: cache.qcow2', 'create-exists'],
  ['ERROR: Label too long: tdx-containerd-cache (max 16 characters)', 'label-too-long'],
  ['Warning: label too long; it will be truncated to \'tdx-cache-storag\'', 'label-too-long'],
  ['ERROR: Invalid size format: 5tb', 'create-size'],
  ['ERROR: This script must be run with sudo/root privileges', 'needs-root'],
  ['qcow2 format is not supported for new volumes. Use .raw extension.', 'qcow2-refused'],
  ['✗ Error: qcow2 volumes cannot be created. Use .raw for new volumes (e.g. cache-h.raw)', 'qcow2-refused'],
  ["Please run 'e2fsck -f /dev/nbd0' first.", 'resize-needs-fsck'],
  ['e2label: Bad magic number in super-block while trying to open /dev/nbd0', 'bad-superblock'],
];

describe('the hint catalogue', () => {
  it('is well formed: unique ids, compiling patterns, words for every entry', () => {
    expect(new Set(HINTS.map((h) => h.id)).size).toBe(HINTS.length);
    for (const h of HINTS) {
      expect(() => new RegExp(h.pattern), h.id).not.toThrow();
      expect(h.title.length, h.id).toBeGreaterThan(5);
      expect(h.explanation.length, h.id).toBeGreaterThan(20);
      if (h.severity === 'error') expect(h.action, `${h.id} needs an action`).not.toBe('');
    }
  });

  it.each(CORPUS)('%s', (line, id) => {
    expect(matchHint(line)?.hint.id).toBe(id);
  });

  it('every entry is exercised by the corpus (or by the upstream lines of test/hints-eras.test.ts)', () => {
    const used = new Set([...CORPUS.map(([, id]) => id), ...UPSTREAM_HINT_IDS]);
    expect(HINTS.map((h) => h.id).filter((id) => !used.has(id))).toEqual([]);
  });

  it('strips colour and carriage returns before matching, and captures the reason', () => {
    const m = matchHint("\x1b[1;31mERROR: Cache device has wrong label: 'models' (expected 'tdx-cache')\x1b[0m\r");
    expect(m).toMatchObject({hint: {id: 'cache-wrong-label'}, line: "ERROR: Cache device has wrong label: 'models' (expected 'tdx-cache')", groups: ['models']});
    expect(matchHint('[   12.3] STORAGE-SETUP-FAILED: POST LUKS sync failed')?.hint.id).toBe('luks-sync-failed');
    expect(matchHint('an ordinary boot line')).toBeUndefined();
  });

  it('can be limited to sources', () => {
    expect(matchHint('reboot: Power down', ['launcher'])).toBeUndefined();
    expect(matchHint('Unknown option: --x', ['launcher', 'tool'])?.hint.source).toBe('launcher');
  });

  it('fills the operator\'s values into actions', () => {
    const hint = HINTS.find((h) => h.id === 'cache-wrong-label')!;
    expect(actionFor(hint, {volume: '/srv/cache.qcow2'})).toBe('tdx-wizard relabel /srv/cache.qcow2');
    expect(actionFor(hint)).toBe('tdx-wizard relabel <volume>');
  });
});

describe('the prefilter: the text every match must contain', () => {
  it('takes from each alternative the longest run of plain text outside groups, quantified characters and classes', () => {
    expect(prefilter(['(Cache|Storage) volume does not appear|(?:^|\\.\\.\\. )Failure: ', 'POST LUKS sync failed(?: \\(HTTP (\\d+)\\))?', 'abcd?ef\\s+[xyz]ghij'])?.source).toBe(
      ' volume does not appear|Failure: |POST LUKS sync failed|ghij',
    );
  });
  it('is off when an alternative requires less than 3 characters', () => {
    expect(prefilter(['long enough', '(a|b)c'])).toBeUndefined();
    expect(prefilter(['x.*y'])).toBeUndefined();
  });
  it("lets through every line of the corpus that a hint's own pattern matches", () => {
    const pre = prefilter(HINTS.map((h) => h.pattern))!;
    expect(pre).toBeDefined();
    for (const [line] of CORPUS) if (HINTS.some((h) => new RegExp(h.pattern).test(line))) expect(pre.test(line), line).toBe(true);
  });
});

describe('the last marker: why the VM stopped', () => {
  it('names the cause, not the generic power-off lines after it', () => {
    const s = lastMarker([
      '=== Cache Volume Verification Started ===',
      "ERROR: Cache device with label 'tdx-cache' not found",
      'ERROR: Available block devices:',
      'ERROR: Shutting down immediately to prevent boot with missing cache',
      '[   13.0] reboot: Power down',
    ]);
    expect(s).toMatchObject({cause: {hint: {id: 'cache-not-found'}}, last: {hint: {id: 'power-down'}}, poweredOff: true, failed: true});
  });

  it('a good boot is not a failure, even when it is powered off later', () => {
    expect(lastMarker(['=== Cache Volume Verification Complete ===', 'Welcome'])).toMatchObject({cause: {hint: {id: 'cache-verify-complete'}}, poweredOff: false, failed: false});
    expect(lastMarker(['=== Cache Volume Verification Complete ===', 'reboot: Power down'])).toMatchObject({poweredOff: true, failed: false});
  });

  it('a failure after a success line is a failure of unknown cause', () => {
    const s = lastMarker(['Filesystem label verification: PASSED', 'Failure: VM will shut down in 10 seconds...', 'reboot: Power down']);
    expect(s).toMatchObject({cause: {hint: {id: 'shutting-down'}}, failed: true});
  });

  it('a power-off with no marker at all', () => {
    expect(lastMarker(['Linux version', 'reboot: Power down'])).toMatchObject({cause: {hint: {id: 'power-down'}}, poweredOff: true, failed: false});
    expect(lastMarker([])).toEqual({cause: undefined, last: undefined, poweredOff: false, failed: false});
  });

  it('the tracker starts over when the VM restarts', () => {
    const t = new MarkerTracker();
    t.push('ERROR: Filesystem check failed on /dev/vdc');
    t.push('reboot: Power down');
    expect(t.state.failed).toBe(true);
    t.reset();
    t.push('=== Cache Volume Verification Complete ===');
    expect(t.state).toMatchObject({failed: false, poweredOff: false, cause: {hint: {id: 'cache-verify-complete'}}});
  });
});

describe('the guest\'s failed filesystem check opens the repair', () => {
  it('cache-fsck-failed names tdx-wizard repair and opens the repair screen with the cache volume filled in', async () => {
    const {hintAction} = await import('../components/hintScreen.js');
    const hint = HINTS.find((h) => h.id === 'cache-fsck-failed')!;
    expect(actionFor(hint, {volume: '/srv/cache.qcow2'})).toMatch(/tdx-wizard repair \/srv\/cache\.qcow2 \(qemu-img check, then e2fsck -f -y/);
    expect(hintAction(hint, {volumePath: '/srv/cache.qcow2'})).toEqual({screen: {name: 'repair', path: '/srv/cache.qcow2'}, label: 'repair the cache volume /srv/cache.qcow2'});
  });
});
