// The hints for the lines of every era (upstream-eras.md §2 to §4), each matched by its real line:
// the statement that prints it is read out of the upstream file, so a change upstream shows here.
// Two lines come from running real programs: run-td's argparse refusal (the January 2026 run-td,
// which stops at its option parser before it touches anything) and QEMU's block layer refusing a
// raw file opened as qcow2 (qemu-img shares it with qemu-system-x86_64).
import {spawnSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {findEra} from '../src/era/eras.js';
import {StepError} from '../src/errors.js';
import type {RunResult} from '../src/runner/runner.js';
import {adapterFor} from '../src/vm/adapters/index.js';
import {HINTS, lastMarker, matchHint} from '../src/vm/hints.js';
import {judgeLaunch} from '../src/vm/launch-outcome.js';
import {tempDir} from './helpers/tools.js';
import {pathOf, rendered, SHARED_UPSTREAM, textOf, UPSTREAM_LINES, type UpstreamLine} from './helpers/upstream-lines.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('tdxw-hints-eras-');
});
afterAll(() => tmp.remove());

const label = (l: UpstreamLine) => `${l.id}: ${l.line}`;

describe('every era\'s lines, quoted from upstream', () => {
  it.each(UPSTREAM_LINES.map((l) => [label(l), l] as const))('%s', (_name, l) => {
    const text = textOf(l.where);
    for (const quote of l.quote) {
      expect(text, `${pathOf(l.where)} no longer has: ${quote}`).toContain(quote);
      expect(l.line, `what ${quote} prints`).toContain(rendered(quote, l.vars));
    }
    expect(matchHint(l.line)?.hint.id).toBe(l.id);
  });

  it('every hint named here is in the catalogue, with words and (for errors) an action', () => {
    for (const id of new Set(UPSTREAM_LINES.map((l) => l.id))) {
      const hint = HINTS.find((h) => h.id === id);
      expect(hint, id).toBeDefined();
      if (hint!.severity === 'error') expect(hint!.action, id).not.toBe('');
    }
  });

  it('the actions name the wizard commands that fix them', () => {
    const action = (id: string) => HINTS.find((h) => h.id === id)!.action;
    expect(action('storage-missing')).toContain('tdx-wizard prepare --dir <dir> --hostname <hostname> --era <era>');
    expect(action('cache-required-missing')).toContain('tdx-wizard verify --dir <dir> --hostname <hostname> --era <era>');
    expect(action('config-mount-failed')).toContain('tdx-wizard prepare --dir <dir> --hostname <hostname> --era <era>');
    expect(action('config-bad-seed')).toMatch(/^tdx-wizard config-volume <config> --refresh /);
    expect(action('kubeconfig-purge-mount')).toContain('tdx-wizard create <path> --role storage --era E6');
    expect(action('storage-wrong-label')).toBe('tdx-wizard relabel <volume> --role storage');
    expect(action('run-td-volume-flag')).toMatch(/^tdx-wizard eras --detect <launcher>.*tdx-wizard prepare --dir <dir> --hostname <hostname> --era <era>/);
    expect(action('run-td-no-image')).toMatch(/^tdx-wizard launch --era <era> --image /);
    // A warning that data is destroyed, not a failure: the boot goes on.
    const wipe = HINTS.find((h) => h.id === 'first-boot-encrypt')!;
    expect(wipe.severity).toBe('warn');
    expect(wipe.explanation).toMatch(/destroyed/);
  });

  it('the lines that say something failed but not why are generic; the ones that say why are not', () => {
    const generic = (id: string) => Boolean(HINTS.find((h) => h.id === id)!.generic);
    for (const id of ['storage-setup-failed', 'storage-create-advice', 'kubeconfig-purge-failed', 'config-validation-failed', 'luks-unlock-failed-bare', 'cvm-qemu-failed', 'shutting-down', 'post-mount-verify-error']) expect(generic(id), id).toBe(true);
    for (const id of ['storage-missing', 'cache-required-missing', 'config-mount-failed', 'config-bad-seed', 'kubeconfig-purge-mount', 'api-format-mismatch', 'qemu-not-qcow2', 'run-td-volume-flag']) expect(generic(id), id).toBe(false);
  });
});

describe('lines of real programs', () => {
  it('a January 2026 run-td given --storage-volume: a launcher older than the volume set', () => {
    const runTd = join(SHARED_UPSTREAM, '2026-01_containerd_chutesai-e9c8032/host-tools/scripts/run-td');
    expect(textOf({launcher: '2026-01_containerd_chutesai-e9c8032/host-tools/scripts/run-td'})).not.toContain('--storage-volume');
    // argparse refuses before run_td() (and its do_clean of the pid file) is reached.
    const r = spawnSync('python3', [runTd, '--image', 'x.qcow2', '--storage-volume', 'storage-h.qcow2'], {cwd: tmp.path, encoding: 'utf8'});
    expect(r.status).toBe(2);
    const line = r.stderr.trim().split('\n').at(-1)!;
    expect(line).toBe('run-td: error: unrecognized arguments: --storage-volume storage-h.qcow2');
    expect(matchHint(line)?.hint.id).toBe('run-td-volume-flag');
    expect(matchHint(line, ['serial'])).toBeUndefined();
    // Any other refusal of its option parser.
    const choice = spawnSync('python3', [runTd, '--network-type', 'macvtap'], {cwd: tmp.path, encoding: 'utf8'});
    expect(choice.status).toBe(2);
    expect(matchHint(choice.stderr.trim().split('\n').at(-1)!)?.hint.id).toBe('launcher-argparse');
  });

  it('QEMU refusing a raw file opened as qcow2', () => {
    const raw = join(tmp.path, 'cache-h.raw');
    writeFileSync(raw, Buffer.alloc(1024 * 1024));
    const r = spawnSync('qemu-img', ['info', '-f', 'qcow2', raw], {encoding: 'utf8'});
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Image is not in qcow2 format');
    expect(matchHint(r.stderr.trim())?.hint.id).toBe('qemu-not-qcow2');
  });
});

/** The lines an E4 production boot prints when the storage volume is missing, in order (setup_storage's main, handle_failure, clear_sensitive_data). */
function e4StorageFailure(): string[] {
  const pick = (id: string, re: RegExp) => UPSTREAM_LINES.find((l) => l.id === id && re.test(l.line))!.line;
  return [
    '[    3.012345] Run /init as init process',
    'Begin: Starting storage setup ... Success: Loaded VM name: miner-01, hotkey loaded from config',
    pick('storage-missing', /^Begin: Detecting/),
    pick('storage-create-advice', /storage volume/),
    pick('storage-missing', /^Failure: Storage setup failed/),
    pick('shutting-down', /10 seconds/),
    pick('storage-missing', /STORAGE-SETUP-FAILED/),
    pick('storage-setup-failed', / - VM will shut down/),
    pick('storage-setup-failed', /STORAGE-SETUP-FAILED$/),
    '[   24.512345] reboot: Power down',
  ];
}

describe('the last marker of an E4 boot', () => {
  it('a boot that failed on storage: the line that says which volume, not the summaries and power-off after it', () => {
    const s = lastMarker(e4StorageFailure());
    expect(s.cause?.hint.id).toBe('storage-missing');
    expect(s.cause?.line).toBe("Begin: Detecting storage device by label: storage ... Begin: Filesystem label not found, checking for LUKS devices ... Failure: No device found with label 'storage'");
    expect(s).toMatchObject({poweredOff: true, failed: true, last: {hint: {id: 'power-down'}}});
  });

  it('with only the kernel messages left (the console quiet), the reason in them still tells', () => {
    const s = lastMarker(e4StorageFailure().filter((l) => /^\[/.test(l)));
    expect(s.cause).toMatchObject({hint: {id: 'storage-missing'}, line: '[   14.203118] STORAGE-SETUP-FAILED: No storage device found'});
  });

  it('a first boot that encrypted both volumes and went on is not a failure', () => {
    const s = lastMarker([
      UPSTREAM_LINES.find((l) => l.line.startsWith('Begin: Storage device is NOT encrypted'))!.line,
      UPSTREAM_LINES.find((l) => l.line.startsWith('Begin: Cache device is NOT encrypted'))!.line,
      'Success: Storage and cache setup completed successfully',
    ]);
    expect(s).toMatchObject({cause: {hint: {id: 'storage-setup-ok'}}, failed: false, poweredOff: false});
  });

  it('an E6 guest given a February 2026 storage volume: the purge mount, not the summary', () => {
    const s = lastMarker([
      'Begin: Storage device is LUKS encrypted ... Begin: Unlocking storage ... Success: Storage unlocked',
      'Begin: Purging admin kubeconfig from storage volume ... Failure: Failed to mount storage volume for kubeconfig purge',
      'Failure: Admin kubeconfig purge or RTMR3 measurement failed',
      'Failure: Storage setup failed: Failed to setup storage',
      'Failure: VM will shut down in 10 seconds...',
      '[   20.2] STORAGE-SETUP-FAILED: Failed to setup storage',
      '[   30.3] reboot: Power down',
    ]);
    expect(s.cause?.hint.id).toBe('kubeconfig-purge-mount');
    expect(s.failed).toBe(true);
  });

  it('a missing config volume (production initramfs): the mount line, then its echoes', () => {
    const s = lastMarker([
      'Begin: Mounting config volume ... Failure: Failed to mount config volume',
      'Failure: TDX unlock failed: Failed to mount config volume',
      'Failure: VM will shut down in 10 seconds...',
      '[    8.77] TDX-LUKS-UNLOCK-FAILED: Failed to mount config volume',
      'Failure: TDX unlock failed - VM will shut down in 5 seconds...',
      '[    8.9] TDX-LUKS-UNLOCK-FAILED',
      '[   13.9] reboot: Power down',
    ]);
    expect(s.cause).toMatchObject({hint: {id: 'config-mount-failed'}, line: 'Begin: Mounting config volume ... Failure: Failed to mount config volume'});
  });
});

// run-td as it prints (E4: do_clean, do_run, build_network), then what QEMU wrote to the terminal.
const RUN_TD = ['Clean VM', 'Launching TDX VM: 32 vCPUs, 100G RAM', 'Image: /var/lib/tdx/tdx-guest.qcow2', 'Networking: TAP mode (iface=vmtap0)', 'Launching QEMU...'];

describe('judging a launch whose launcher exits 0 whatever QEMU did', () => {
  it('the run-td lines used here are run-td\'s own', () => {
    const text = textOf({launcher: '2026-02_doc-era_kierr-5255961/host-tools/scripts/run-td'});
    for (const q of ["print('Clean VM')", "print('Launching QEMU...')", "print(f'Log file: {logfile}')", 'print(f"Networking: TAP mode (iface={args.net_iface})")']) expect(text).toContain(q);
  });

  it('QEMU refused to start: its line, and the hint for it', () => {
    const qemu = 'qemu-system-x86_64: -drive file=/var/lib/tdx/cache-h.raw,if=virtio,cache=none,format=qcow2: Image is not in qcow2 format';
    const j = judgeLaunch({launcherLines: [...RUN_TD, `\x1b[0m${qemu}\r`, 'Log file: /tmp/tdx-guest-td.log'], pidAlive: false, serialLines: []});
    expect(j).toMatchObject({ok: false, state: 'qemu-refused', reason: `QEMU refused to start: ${qemu}`, hint: {hint: {id: 'qemu-not-qcow2'}}});
  });

  it('a QEMU error the catalogue does not know is still QEMU refusing, without a hint', () => {
    const j = judgeLaunch({launcherLines: [...RUN_TD, 'qemu-system-x86_64: -machine q35: unsupported machine type'], pidAlive: false, serialLines: []});
    expect(j).toMatchObject({ok: false, state: 'qemu-refused', reason: 'QEMU refused to start: qemu-system-x86_64: -machine q35: unsupported machine type'});
    expect(j.hint).toBeUndefined();
  });

  it('started: the pid is alive and the serial log has begun', () => {
    const j = judgeLaunch({launcherLines: [...RUN_TD, 'Log file: /tmp/tdx-guest-td.log', 'TDX VM running with PID: 4242'], pidAlive: true, serialLines: ['', 'BdsDxe: loading Boot0001']});
    expect(j).toEqual({ok: true, state: 'started', reason: 'started: QEMU runs and the serial log has begun'});
  });

  it('a live pid with an empty serial log is not yet a success: look again', () => {
    expect(judgeLaunch({launcherLines: RUN_TD, pidAlive: true, serialLines: ['', '  ']})).toMatchObject({ok: false, state: 'starting'});
  });

  it('a QEMU warning is not a refusal', () => {
    const j = judgeLaunch({launcherLines: [...RUN_TD, 'qemu-system-x86_64: warning: host doesn\'t support requested feature'], pidAlive: false, serialLines: []});
    expect(j.state).toBe('unknown');
    expect(judgeLaunch({launcherLines: [...RUN_TD, 'qemu-system-x86_64: warning: x'], pidAlive: true, serialLines: ['Linux version']}).ok).toBe(true);
  });

  it('the launcher refused before QEMU: its line and hint', () => {
    const j = judgeLaunch({
      launcherLines: ['usage: run-td [-h] [--image IMAGE] [--pass-gpus] [--foreground] [--clean]', 'run-td: error: unrecognized arguments: --storage-volume /var/lib/tdx/storage-h.qcow2'],
      pidAlive: false,
      serialLines: [],
    });
    expect(j).toMatchObject({ok: false, state: 'launcher-refused', reason: 'the launcher refused: run-td: error: unrecognized arguments: --storage-volume /var/lib/tdx/storage-h.qcow2', hint: {hint: {id: 'run-td-volume-flag'}}});
    expect(judgeLaunch({launcherLines: ['Clean VM', 'Error: --image is required'], pidAlive: false, serialLines: []}).hint?.hint.id).toBe('run-td-no-image');
  });

  it('chutes-cvm (E6) reporting QEMU\'s exit code: QEMU\'s own line first when it is there', () => {
    const generic = judgeLaunch({launcherLines: ['Launching QEMU...', 'Error: QEMU failed (exit 1).'], pidAlive: false, serialLines: []});
    expect(generic).toMatchObject({state: 'qemu-refused', reason: 'QEMU refused to start: Error: QEMU failed (exit 1).', hint: {hint: {id: 'cvm-qemu-failed'}}});
    const own = judgeLaunch({launcherLines: ['Launching QEMU...', "qemu-system-x86_64: -drive file=s.qcow2: Could not open 's.qcow2': No such file or directory", 'Error: QEMU failed (exit 1).'], pidAlive: false, serialLines: []});
    expect(own).toMatchObject({state: 'qemu-refused', hint: {hint: {id: 'qemu-image-missing'}}});
    expect(own.reason).toMatch(/^QEMU refused to start: qemu-system-x86_64: -drive/);
  });

  it('the guest started and has already stopped: why, from its serial log', () => {
    const j = judgeLaunch({launcherLines: [...RUN_TD, 'Log file: /tmp/tdx-guest-td.log', 'TDX VM running with PID: 4242'], pidAlive: false, serialLines: e4StorageFailure()});
    expect(j).toMatchObject({ok: false, state: 'stopped', hint: {hint: {id: 'storage-missing'}}});
    expect(j.reason).toMatch(/^the VM started and has stopped: The guest found no storage volume \(/);
  });

  it('nothing says why', () => {
    expect(judgeLaunch({launcherLines: [...RUN_TD, 'Log file: /tmp/tdx-guest-td.log'], pidAlive: false, serialLines: []})).toEqual({
      ok: false,
      state: 'unknown',
      reason: 'no VM runs, and neither the launcher nor QEMU said why',
    });
  });
});

describe('run-td\'s launch judged by it (the adapter\'s one call)', () => {
  it('no VM after run-td exited 0: the pid file evidence, then what QEMU said, and the fix of its hint', () => {
    const saved = process.env.TDX_WIZARD_PID_FILE;
    process.env.TDX_WIZARD_PID_FILE = join(tmp.path, 'no-such.pid');
    try {
      const qemu = 'qemu-system-x86_64: -drive file=/v/storage-h.raw,if=virtio,cache=none,format=qcow2: Image is not in qcow2 format';
      const result = {exitCode: 0, stdout: '', tail: [...RUN_TD, qemu, 'Log file: /tmp/tdx-guest-td.log'], durationMs: 1} as unknown as RunResult;
      let error: unknown;
      try {
        adapterFor(findEra('E4')!).confirmLaunch(result, '/up/host-tools/scripts/run-td', []);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StepError);
      expect((error as StepError).message).toBe(`run-td ended (exit 0) but no VM is running: pid file ${join(tmp.path, 'no-such.pid')}: absent; QEMU refused to start: ${qemu}`);
      expect((error as StepError).fix).toBe(HINTS.find((h) => h.id === 'qemu-not-qcow2')!.action);
    } finally {
      if (saved === undefined) delete process.env.TDX_WIZARD_PID_FILE;
      else process.env.TDX_WIZARD_PID_FILE = saved;
    }
  });
});
