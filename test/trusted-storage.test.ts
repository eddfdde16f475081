// trusted-storage with real loop devices, systemctl --root on a temporary root, and a stand-in
// kubectl first on PATH (no cluster runs here) that records what it is asked. The file, the loop
// device, the unit and the manifests agree; the manifests validate and round-trip through yaml;
// bad input exits 2 with nothing made; a failure half-way leaves nothing; teardown removes it all.
import {spawn, spawnSync} from 'node:child_process';
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {parseAllDocuments} from 'yaml';
import {PersistentVolume} from 'kubernetes-models/v1/PersistentVolume';
import {PersistentVolumeClaim} from 'kubernetes-models/v1/PersistentVolumeClaim';
import {Pod} from 'kubernetes-models/v1/Pod';
import {StorageClass} from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli, snapshot} from './helpers/cli.js';
import {guestPullConfig, standInKubectl} from './helpers/kubectl.js';
import {waitFor} from './helpers/reliability.js';
import {requireTools, tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const made: string[] = []; // loop devices to detach if a test failed half-way

beforeAll(() => {
  requireTools('losetup', 'fallocate', 'systemctl');
  tmp = tempDir('tdxw-trusted-');
});
afterAll(() => {
  // Only a device still backed by this file's own files: one a test tore down may be another test's now.
  for (const device of made) if (ownBacking(device)) spawnSync('losetup', ['-d', device]);
  tmp?.remove();
});

/** The loop devices backed by `file`, even once it is deleted (the kernel then adds " (deleted)"). */
function loopsOn(file: string): string[] {
  return readdirSync('/sys/block')
    .filter((d) => d.startsWith('loop'))
    .filter((d) => {
      try {
        return readFileSync(`/sys/block/${d}/loop/backing_file`, 'utf8').trim().replace(/ \(deleted\)$/, '') === file;
      } catch {
        return false; // not attached
      }
    });
}

function ownBacking(device: string): boolean {
  try {
    return backing(device).startsWith(`${tmp.path}/`);
  } catch {
    return false; // detached
  }
}

function place() {
  const d = join(tmp.path, `case-${++n}`);
  for (const sub of ['vol', 'root/etc/systemd/system', 'bin']) mkdirSync(join(d, sub), {recursive: true});
  standInKubectl(join(d, 'bin'), join(d, 'kubectl.log'), {context: 'tdx-lab', reachable: true, runtimeClasses: {'kata-qemu-tdx': 'kata-qemu-tdx'}, nodes: ['node-1']});
  writeFileSync(join(d, 'containerd.toml'), guestPullConfig('kata-qemu-tdx'));
  const env = {TDX_WIZARD_STATE_DIR: join(d, 'state'), TDX_WIZARD_CONFIG_DIR: join(d, 'config'), CI: 'true', PATH: `${join(d, 'bin')}:${process.env.PATH}`};
  const args = (name: string, ...more: string[]) => ['trusted-storage', 'create', name, '--size', '128M', '--dir', join(d, 'vol'), '--node', 'node-1', '--unit-dir', join(d, 'root/etc/systemd/system'), '--systemd-root', join(d, 'root'), '--containerd-config', join(d, 'containerd.toml'), '--yes', ...more];
  return {d, env, args};
}

const backing = (device: string) => readFileSync(`/sys/block/${device.replace('/dev/', '')}/loop/backing_file`, 'utf8').trim();

describe('trusted-storage create', () => {
  it('the file, the loop device, the unit and the manifests agree; the manifests validate and round-trip; applied through kubectl', async () => {
    const p = place();
    const r = runCli([...p.args('ts1', '--apply'), '--json'], {env: p.env});
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {device: string; file: string; applied: {claim: string; pod: string}};
    made.push(result.device);
    const file = join(p.d, 'vol/ts1.img');
    expect(result.file).toBe(file);
    expect(statSync(file).size).toBe(128 * 2 ** 20);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).blocks * 512).toBeGreaterThanOrEqual(128 * 2 ** 20); // allocated, not sparse
    expect(backing(result.device)).toBe(file);
    const unit = readFileSync(join(p.d, 'root/etc/systemd/system/tdx-wizard-trusted-ts1.service'), 'utf8');
    expect(unit).toContain(`ExecStart=/sbin/losetup ${result.device} ${file}`);
    expect(lstatSync(join(p.d, 'root/etc/systemd/system/multi-user.target.wants/tdx-wizard-trusted-ts1.service')).isSymbolicLink()).toBe(true); // enabled (it points into the root)
    const docs = parseAllDocuments(readFileSync(join(p.d, 'vol/ts1.k8s.yaml'), 'utf8')).map((doc) => doc.toJSON() as Record<string, any>);
    expect(docs.map((o) => o.kind)).toEqual(['StorageClass', 'PersistentVolume', 'PersistentVolumeClaim', 'Pod']);
    const [sc, pv, pvc, pod] = docs;
    for (const [Model, json] of [[StorageClass, sc], [PersistentVolume, pv], [PersistentVolumeClaim, pvc], [Pod, pod]] as const) new (Model as any)(json).validate();
    expect(pv!.spec.local.path).toBe(result.device);
    expect(pv!.spec.capacity.storage).toBe(String(128 * 2 ** 20));
    expect(pvc!.spec.resources.requests.storage).toBe(pv!.spec.capacity.storage);
    expect(pv!.spec.volumeMode).toBe('Block');
    expect(pv!.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values).toEqual(['node-1']);
    expect(pv!.spec.storageClassName).toBe(sc!.metadata.name);
    expect(pod!.spec.runtimeClassName).toBe('kata-qemu-tdx');
    expect(pod!.spec.containers[0].volumeDevices).toEqual([{name: 'trusted', devicePath: '/dev/trusted_store'}]);
    expect(readFileSync(join(p.d, 'kubectl.log'), 'utf8').split('\n').filter((l) => !/^(config current-context|version|get (runtimeclass|node) )/.test(l))[0]).toBe(`apply -f ${join(p.d, 'vol/ts1.k8s.yaml')}`); // after the checks' reads
    expect(result.applied).toEqual({claim: 'Bound', pod: 'Running'});

    // teardown: refused without the typed name, and while the device is open; then everything goes
    const noConfirm = runCli(['trusted-storage', 'teardown', 'ts1', '--dir', join(p.d, 'vol')], {env: p.env});
    expect(noConfirm.code).toBe(2);
    expect(noConfirm.stderr).toMatch(/fix: pass --confirm "ts1"/);
    const holder = spawn('sh', ['-c', `exec sleep 30 3<${result.device}`], {stdio: 'ignore'}); // one process: sleep holds the device open
    try {
      const busy = runCli(['trusted-storage', 'teardown', 'ts1', '--dir', join(p.d, 'vol'), '--confirm', 'ts1'], {env: p.env});
      expect(busy.code).toBe(2);
      expect(busy.stderr).toMatch(new RegExp(`${result.device} is in use \\(sleep pid \\d+\\)`));
    } finally {
      holder.kill();
      await waitFor('the holder to end', () => holder.exitCode !== null || holder.signalCode !== null, 5000);
    }
    const gone = runCli(['trusted-storage', 'teardown', 'ts1', '--dir', join(p.d, 'vol'), '--confirm', 'ts1', '--kubectl'], {env: p.env});
    expect(gone.code, gone.stderr).toBe(0);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
    expect(readdirSync(join(p.d, 'root/etc/systemd/system'))).toEqual([]);
    expect(existsSync(`/sys/block/${result.device.replace('/dev/', '')}/loop/backing_file`) && backing(result.device) === file).toBe(false);
    expect(readFileSync(join(p.d, 'kubectl.log'), 'utf8')).toContain(`delete --ignore-not-found -f ${join(p.d, 'vol/ts1.k8s.yaml')}`);
  });

  it('a failure half-way (systemctl fails) leaves nothing: no file, no loop device, no unit, no manifests', async () => {
    const p = place();
    writeFileSync(join(p.d, 'bin/systemctl'), '#!/bin/sh\necho "Failed to enable unit: Access denied" >&2\nexit 1\n', {mode: 0o755});
    const r = runCli(p.args('ts2'), {env: p.env});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Failed to enable unit: Access denied/);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
    expect(readdirSync(join(p.d, 'root/etc/systemd/system'))).toEqual([]);
    // No loop device is left on its file (other tests attach devices meanwhile: only this file's count).
    const file = join(p.d, 'vol', 'ts2.img');
    await waitFor('the loop device to be detached', () => loopsOn(file).length === 0, 5000);
  });

  it('an undo that cannot detach the loop device keeps the record, so teardown still finds and removes everything', async () => {
    const p = place();
    writeFileSync(join(p.d, 'bin/systemctl'), '#!/bin/sh\necho "Failed to enable unit: Access denied" >&2\nexit 1\n', {mode: 0o755});
    // Stands for a loop device the kernel will not let go of (busy): -d fails, everything else is the real losetup.
    const real = spawnSync('sh', ['-c', 'command -v losetup'], {encoding: 'utf8'}).stdout.trim();
    writeFileSync(join(p.d, 'bin/losetup'), `#!/bin/sh\n[ "$1" = -d ] && { echo "losetup: $2: detach failed: Device or resource busy" >&2; exit 1; }\nexec ${real} "$@"\n`, {mode: 0o755});
    const r = runCli(p.args('ts9'), {env: p.env});
    expect(r.code).toBe(1);
    const file = join(p.d, 'vol', 'ts9.img');
    const record = join(p.d, 'vol', 'ts9.trusted.json');
    for (const device of loopsOn(file)) made.push(`/dev/${device}`);
    expect(loopsOn(file)).toHaveLength(1);
    expect(existsSync(record)).toBe(true);
    expect(r.stderr).toMatch(/could not be undone: the record .*ts9\.trusted\.json stays/);
    expect(r.stderr).toContain(`tdx-wizard trusted-storage teardown ts9 --dir ${join(p.d, 'vol')}`);
    // The device lets go again: teardown (the real losetup) finds it by the record and removes it all.
    rmSync(join(p.d, 'bin/losetup'));
    const gone = runCli(['trusted-storage', 'teardown', 'ts9', '--dir', join(p.d, 'vol'), '--confirm', 'ts9'], {env: p.env});
    expect(gone.code, gone.stderr).toBe(0);
    expect(loopsOn(file)).toEqual([]);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
  });

  it('bad input: exit 2 with what is wrong and the fix, nothing made', () => {
    const p = place();
    writeFileSync(join(p.d, 'vol/taken.img'), 'x');
    const base = (name: string) => p.args(name).filter((a, i, all) => !['--size'].includes(all[i - 1] ?? '') && a !== '--size');
    const cases: Array<[string[], RegExp]> = [
      [[...base('ts3'), '--size', 'lots'], /--size lots/],
      [[...base('ts3'), '--size', '1M'], /--size 1M is below 64 MiB/],
      [p.args('Bad_Name'), /the name "Bad_Name" is not a valid Kubernetes name/],
      [[...p.args('ts3'), '--namespace', 'x'.repeat(64)], /the namespace "x{64}" is not a valid Kubernetes name/],
      [p.args('ts3').map((a) => (a === 'node-1' ? 'Node_1' : a)), /the node name "Node_1" is not a valid Kubernetes name/],
      [p.args('taken'), /taken\.img exists already/],
      [p.args('ts3').map((a) => (a === join(p.d, 'vol') ? join(p.d, 'nowhere') : a)), /nowhere is not a directory/],
      [[...base('ts3'), '--size', '100T'], /free; the device needs 100 TiB allocated/],
    ];
    for (const [args, message] of cases) {
      const before = snapshot(p.d);
      const r = runCli(args, {env: p.env});
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).toMatch(/\n {2}fix: /);
      expect(snapshot(p.d).filter((l) => !l.includes('/state')), args.join(' ')).toEqual(before.filter((l) => !l.includes('/state')));
    }
  });
});

describe('trusted-storage in the wizard', () => {
  it("the wizard's create (the controller the screen dispatches to) makes the same, and teardown removes it", async () => {
    const p = place();
    const {WizardController} = await import('../src/wizard/controller.js');
    const controller = new WizardController({transcript: false});
    const before = process.env.PATH;
    process.env.PATH = p.env.PATH; // the stand-in kubectl, for the checks it runs first
    try {
      const outcome = await controller.trustedCreate({name: 'ts4', size: '64M', dir: join(p.d, 'vol'), node: 'node-1', runtimeClass: 'kata-qemu-tdx', namespace: 'default', image: 'busybox:1.36', unitDir: join(p.d, 'root/etc/systemd/system'), systemdRoot: join(p.d, 'root')});
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ok: true, detail: expect.stringMatching(/ts4\.img on \/dev\/loop\d+, attached at every boot by tdx-wizard-trusted-ts4\.service/)});
    } finally {
      process.env.PATH = before;
    }
    const device = /on (\/dev\/loop\d+)/.exec(readFileSync(join(p.d, 'root/etc/systemd/system/tdx-wizard-trusted-ts4.service'), 'utf8'))![1]!;
    made.push(device);
    expect(backing(device)).toBe(join(p.d, 'vol/ts4.img'));
    expect(readdirSync(join(p.d, 'vol')).sort()).toEqual(['ts4.img', 'ts4.k8s.yaml', 'ts4.trusted.json']);
    const gone = runCli(['trusted-storage', 'teardown', 'ts4', '--dir', join(p.d, 'vol'), '--confirm', 'ts4'], {env: p.env});
    expect(gone.code, gone.stderr).toBe(0);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
  });
});

describe('trusted-storage create --dry-run', () => {
  it('prints every step as a command, in order, and makes nothing', () => {
    const p = place();
    const before = snapshot(p.d).filter((l) => !l.includes('/state'));
    const r = runCli(['--dry-run', ...p.args('tsd')], {env: p.env});
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const plan = r.stdout + r.stderr;
    const order = ['tsd.trusted.json', 'fallocate -l 134217728', 'losetup --find --show', 'tdx-wizard-trusted-tsd.service', 'tsd.k8s.yaml'].map((s) => plan.indexOf(s));
    expect(order.every((i) => i >= 0), plan).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(snapshot(p.d).filter((l) => !l.includes('/state'))).toEqual(before);
  });
});
