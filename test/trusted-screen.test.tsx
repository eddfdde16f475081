// The trusted storage screen (ink-testing-library): the form, then the checks the controller
// returns (made by hand here: no processes), "Make it" unavailable while a host check fails, and
// create dispatched to the controller through the run screen. The main menu offers the screen.
import {hostname} from 'node:os';
import {cleanup, render} from 'ink-testing-library';
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {frameOf, press, tick} from './helpers/ink.js';
import {KeyRouter} from '../components/KeyRouter.js';
import {MainMenu} from '../components/MainMenu.js';
import {TrustedScreen} from '../components/TrustedScreen.js';
import type {Screen, ScreenProps} from '../components/screens.js';
import {setPlain} from '../components/theme.js';
import {check, type Check} from '../src/host/check-types.js';
import type {TeardownPlan} from '../src/trusted/teardown.js';
import type {WizardController} from '../src/wizard/controller.js';

const ENTER = '\r';
const DOWN = '\u001B[B';
const joined = (frame: string) => frame.split('\n').map((row) => row.trim()).join(' ');

beforeEach(() => setPlain(false));
afterEach(() => cleanup());

const READY: Check[] = [
  check('trusted:losetup', 'losetup (attaches the backing file as a block device)', 'ok', '/usr/sbin/losetup', []),
  check('trusted:loop-free', 'a free loop device', 'ok', '/dev/loop3 is free', []),
  check('trusted:systemctl', 'systemctl (enables the unit that re-attaches it at boot)', 'ok', '/usr/bin/systemctl', []),
  check('trusted:cluster', 'the cluster answers', 'warn', 'the cluster is not reachable: nothing in it was checked, and --apply cannot run', [{source: 'kubectl version --output=json', said: 'connection refused'}], 'kubectl cluster-info says why'),
  check('trusted:containerd-annotations', 'containerd: snapshot annotations passed on to the snapshotter', 'fail', 'disable_snapshot_annotations is true', [{source: '/etc/containerd/config.toml', said: 'disable_snapshot_annotations = true'}], 'in the table [plugins."io.containerd.grpc.v1.cri".containerd] that /etc/containerd/config.toml has, set:\n  disable_snapshot_annotations = false'),
];

function stub(checks: Check[], existing?: TeardownPlan) {
  const drafts = new Map<string, Record<string, string>>();
  const controller = {
    draft: (form: string) => drafts.get(form) ?? (drafts.set(form, {}), drafts.get(form)!),
    trustedChecks: vi.fn(async () => checks),
    trustedCreate: vi.fn(async () => ({ok: true as const})),
    trustedTeardownPlan: vi.fn(async (name: string, dir: string) => {
      if (existing) return existing;
      throw new Error(`no record of trusted storage ${name} in ${dir}`);
    }),
    trustedTeardown: vi.fn(async () => ({ok: true as const})),
    leftovers: async () => [],
  };
  const went: Screen[] = [];
  const props: ScreenProps = {controller: controller as unknown as WizardController, go: (s) => went.push(s), size: {width: 100, height: 30}, setEditing: () => {}, quit: () => {}};
  return {controller, went, props};
}

async function submitForm(r: ReturnType<typeof render>) {
  for (let i = 0; i < 7; i++) await press(r.stdin, ENTER); // every field has a good value to start with
  await tick();
}

describe('TrustedScreen', () => {
  it('the form, then the checks (failures first, the first shown in full); Make dispatches create with the values', async () => {
    const s = stub(READY);
    const r = render(<KeyRouter><TrustedScreen {...s.props} /></KeyRouter>);
    await tick();
    expect(frameOf(r)).toMatch(/Name.*trusted-store-1/);
    expect(frameOf(r)).toMatch(/Runtime class.*kata-qemu-tdx/);
    await submitForm(r);
    expect(s.controller.trustedChecks).toHaveBeenCalledWith({runtimeClass: 'kata-qemu-tdx', node: hostname()});
    const frame = joined(frameOf(r));
    expect(frame).toContain('1 check failed and 1 gave a warning');
    expect(frame).toContain('Make trusted-store-1: 100G in /var/lib/tdx-wizard/trusted');
    const rows = frameOf(r).split('\n');
    const at = rows.findIndex((row) => row.includes('❯ Make trusted-store-1'));
    expect(rows[at]).not.toContain('unavailable');
    // Applying (the next item) needs the cluster, which does not answer here: it says so.
    expect(rows[at + 1]).toMatch(/\(unavailable: the cluster is not reachable/);
    expect(frame).toContain('disable_snapshot_annotations = false'); // the failing check's fix, in full below
    await press(r.stdin, ENTER);
    expect(s.went).toHaveLength(1);
    const run = s.went[0]! as Extract<Screen, {name: 'run'}>;
    expect(run).toMatchObject({name: 'run', title: 'trusted storage trusted-store-1', changesDisk: true});
    await run.action();
    expect(s.controller.trustedCreate).toHaveBeenCalledWith({name: 'trusted-store-1', size: '100G', dir: '/var/lib/tdx-wizard/trusted', node: hostname(), runtimeClass: 'kata-qemu-tdx', namespace: 'default', storageClass: undefined, image: 'busybox:1.36', unitDir: '/etc/systemd/system'}, false);
  });

  it('the cluster answers: "Make it and kubectl apply" dispatches create with apply', async () => {
    const s = stub(READY.map((c) => (c.id === 'trusted:cluster' ? check('trusted:cluster', 'the cluster answers', 'ok', 'API server v1.31.2', []) : c)));
    const r = render(<KeyRouter><TrustedScreen {...s.props} /></KeyRouter>);
    await tick();
    await submitForm(r);
    await press(r.stdin, DOWN);
    await press(r.stdin, ENTER);
    const run = s.went[0]! as Extract<Screen, {name: 'run'}>;
    expect(run).toMatchObject({name: 'run', title: 'trusted storage trusted-store-1, applied', changesDisk: true});
    await run.action();
    expect(s.controller.trustedCreate).toHaveBeenCalledWith(expect.objectContaining({name: 'trusted-store-1'}), true);
  });

  it('a host check failing (no losetup): Make is unavailable and says why; Enter does nothing', async () => {
    const s = stub([check('trusted:losetup', 'losetup (attaches the backing file as a block device)', 'fail', 'losetup is not installed (Debian/Ubuntu package util-linux)', [{source: 'PATH and the sbin directories', said: 'not found'}], ['apt-get', 'install', '-y', 'util-linux']), ...READY.slice(2)]);
    const r = render(<KeyRouter><TrustedScreen {...s.props} /></KeyRouter>);
    await tick();
    await submitForm(r);
    const frame = joined(frameOf(r));
    expect(frame).toMatch(/Make trusted-store-1.*\(unavailable: losetup is not installed/);
    expect(frame).toContain('apt-get install -y util-linux');
    await press(r.stdin, ENTER); // on the first item that can be chosen: "Change the values"
    expect(s.went).toEqual([]);
    expect(frameOf(r)).toMatch(/Name.*trusted-store-1/); // back in the form, the values kept
  });
});

describe('TrustedScreen, made already', () => {
  const plan: TeardownPlan = {
    name: 'trusted-store-1',
    recordPath: '/var/lib/tdx-wizard/trusted/trusted-store-1.trusted.json',
    unfinished: false,
    rec: {name: 'trusted-store-1', namespace: 'default', file: '/var/lib/tdx-wizard/trusted/trusted-store-1.img', device: '/dev/loop3', unit: '/etc/systemd/system/tdx-wizard-trusted-trusted-store-1.service', systemdRoot: null, manifests: '/var/lib/tdx-wizard/trusted/trusted-store-1.k8s.yaml', storageClass: 'trusted-store-1-local', ownClass: true, pid: 1},
  };

  it('Make is unavailable (made already); Remove asks for the typed name, then dispatches teardown', async () => {
    const s = stub(READY, plan);
    const r = render(<KeyRouter><TrustedScreen {...s.props} /></KeyRouter>);
    await tick();
    await submitForm(r);
    expect(s.controller.trustedTeardownPlan).toHaveBeenCalledWith('trusted-store-1', '/var/lib/tdx-wizard/trusted');
    const frame = joined(frameOf(r));
    expect(frame).toMatch(/Make trusted-store-1.*\(unavailable: made already: remove it first/);
    expect(frame).toContain('Remove trusted-store-1: its file, loop device, unit and manifests');
    await press(r.stdin, ENTER); // the first item that can be chosen: Remove
    expect(joined(frameOf(r))).toContain('This destroys /var/lib/tdx-wizard/trusted/trusted-store-1.img');
    for (const ch of 'trusted-store-') await press(r.stdin, ch);
    await press(r.stdin, ENTER); // not yet the name: nothing happens
    expect(s.went).toEqual([]);
    await press(r.stdin, '1');
    await press(r.stdin, ENTER);
    expect(s.went).toHaveLength(1);
    const run = s.went[0]! as Extract<Screen, {name: 'run'}>;
    expect(run).toMatchObject({name: 'run', title: 'remove trusted storage trusted-store-1', changesDisk: true});
    await run.action();
    expect(s.controller.trustedTeardown).toHaveBeenCalledWith('trusted-store-1', '/var/lib/tdx-wizard/trusted');
  });

  it('in use: Remove is unavailable and says why', async () => {
    const s = stub(READY);
    s.controller.trustedTeardownPlan.mockRejectedValueOnce(new Error('/dev/loop3 is in use (qemu-system-x86_64 pid 42)'));
    const r = render(<KeyRouter><TrustedScreen {...s.props} /></KeyRouter>);
    await tick();
    await submitForm(r);
    expect(joined(frameOf(r))).toMatch(/Remove trusted-stor.*destructive \(unavailable: \/dev\/loop3 is in use \(qemu-system-x86_64 pid 42\)\)/);
  });
});

describe('MainMenu', () => {
  it('offers "Trusted storage for confidential containers", which opens its screen', async () => {
    const s = stub(READY);
    const r = render(<KeyRouter><MainMenu {...s.props} /></KeyRouter>);
    await tick();
    expect(frameOf(r)).toContain('Trusted storage for confidential containers');
    for (let i = 0; i < 9; i++) await press(r.stdin, DOWN);
    await press(r.stdin, ENTER);
    expect(s.went).toEqual([{name: 'trusted'}]);
  });
});
