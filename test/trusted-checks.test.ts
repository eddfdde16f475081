// trusted-storage check: losetup and a free loop device, systemd, kubectl and its context, the
// cluster, the runtime class and the node in it, and containerd's guest-pull configuration (seed
// 002), each with evidence and the exact fix; read-only. create runs them first: a host finding
// that makes it pointless refuses with exit 2 and nothing made; cluster findings are warnings.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli, snapshot, type CliResult} from './helpers/cli.js';
import {guestPullConfig, standInKubectl, type Cluster} from './helpers/kubectl.js';
import {failingTool} from './helpers/reliability.js';
import {requireTools, tempDir} from './helpers/tools.js';

interface Found {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  evidence: Array<{source: string; said: string}>;
  fix?: string;
}

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const made: string[] = [];
const READY: Cluster = {context: 'tdx-lab', reachable: true, runtimeClasses: {'kata-qemu-tdx': 'kata-qemu-tdx'}, nodes: ['node-1']};

beforeAll(() => {
  requireTools('losetup', 'fallocate', 'systemctl', 'unshare', 'mount');
  tmp = tempDir('tdxw-trusted-checks-');
});
afterAll(() => {
  // only a device still on this file's own files: one a test tore down may be another test's now
  for (const device of made) if (backingFile(device).startsWith(`${tmp.path}/`)) spawnSync('losetup', ['-d', device]);
  tmp?.remove();
});

function place(cluster: Cluster | undefined, containerd: string | null = guestPullConfig('kata-qemu-tdx')) {
  const d = join(tmp.path, `case-${++n}`);
  for (const sub of ['vol', 'root/etc/systemd/system', 'bin']) mkdirSync(join(d, sub), {recursive: true});
  if (cluster) standInKubectl(join(d, 'bin'), join(d, 'kubectl.log'), cluster);
  const config = join(d, 'config.toml');
  if (containerd !== null) writeFileSync(config, containerd);
  // Without a cluster: a PATH with no kubectl on it (the stand-in's directory and the system's without it).
  const env = {TDX_WIZARD_STATE_DIR: join(d, 'state'), TDX_WIZARD_CONFIG_DIR: join(d, 'config'), CI: 'true', PATH: `${join(d, 'bin')}:${process.env.PATH}`};
  const check = (...more: string[]) => ['trusted-storage', 'check', '--json', '--node', 'node-1', '--containerd-config', config, ...more];
  const create = (name: string, ...more: string[]) => ['trusted-storage', 'create', name, '--size', '128M', '--dir', join(d, 'vol'), '--node', 'node-1', '--unit-dir', join(d, 'root/etc/systemd/system'), '--systemd-root', join(d, 'root'), '--containerd-config', config, '--yes', ...more];
  return {d, env, config, check, create};
}

function findings(r: CliResult): Record<string, Found> {
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {checks: Found[]};
  return Object.fromEntries(result.checks.map((c) => [c.id, c]));
}

/** The CLI with the programs at `paths` gone from the host as it sees them: /dev/null (not executable) bound over each, in a mount namespace of its own. */
function hidden(env: NodeJS.ProcessEnv, paths: string[], args: string[]): CliResult {
  const there = paths.filter((path) => existsSync(path));
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'for p in $HIDE; do mount --bind /dev/null "$p" || exit 99; done; exec "$@"', 'hide', process.execPath, CLI, ...args], {env: {...process.env, ...env, HIDE: there.join(' ')}, encoding: 'utf8'});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

function backingFile(device: string): string {
  try {
    return readFileSync(`/sys/block/${device.replace('/dev/', '')}/loop/backing_file`, 'utf8').trim();
  } catch {
    return ''; // detached
  }
}

const statuses = (f: Record<string, Found>) => Object.fromEntries(Object.entries(f).map(([id, c]) => [id, c.status]));

describe('trusted-storage check', () => {
  it('a ready host and cluster: every check ok, with its evidence', () => {
    const p = place(READY);
    const r = runCli(p.check(), {env: p.env});
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const f = findings(r);
    expect(statuses(f)).toEqual({
      'trusted:losetup': 'ok',
      'trusted:loop-free': 'ok',
      'trusted:systemctl': 'ok',
      'trusted:kubectl': 'ok',
      'trusted:context': 'ok',
      'trusted:cluster': 'ok',
      'trusted:runtime-class': 'ok',
      'trusted:node': 'ok',
      'trusted:containerd-nydus': 'ok',
      'trusted:containerd-annotations': 'ok',
      'trusted:containerd-runtime': 'ok',
    });
    expect(f['trusted:loop-free']!.evidence[0]).toMatchObject({source: 'losetup --find', said: expect.stringMatching(/^\/dev\/loop\d+$/)});
    expect(f['trusted:context']!.evidence[0]).toEqual({source: 'kubectl config current-context', said: 'tdx-lab'});
    expect(f['trusted:cluster']!.summary).toMatch(/v1\.30\.1/);
    expect(f['trusted:runtime-class']!.summary).toMatch(/handler kata-qemu-tdx/);
    expect(f['trusted:containerd-runtime']!.evidence[0]!.source).toBe(p.config);
    // every kubectl call was a read
    expect(readFileSync(join(p.d, 'kubectl.log'), 'utf8').split('\n').filter(Boolean).every((l) => /^(config current-context|version|get )/.test(l))).toBe(true);
  });

  it('containerd without guest pull: fail, with the exact lines to add; the file is not touched', () => {
    const before = `version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n  disable_snapshot_annotations = true\n`;
    const p = place(READY, before);
    const snap = snapshot(p.d).filter((l) => l.startsWith('/config.toml'));
    const r = runCli(p.check(), {env: p.env});
    expect(r.code, r.stderr).toBe(1);
    const f = findings(r);
    expect(f['trusted:containerd-nydus']).toMatchObject({status: 'fail', fix: `add to ${p.config}:\n[proxy_plugins.nydus]\n  type = "snapshot"\n  address = "/run/containerd-nydus/containerd-nydus-grpc.sock"\nthen: systemctl restart containerd`});
    expect(f['trusted:containerd-annotations']).toMatchObject({status: 'fail', fix: `in the table [plugins."io.containerd.grpc.v1.cri".containerd] that ${p.config} has, set:\n  disable_snapshot_annotations = false\nthen: systemctl restart containerd`});
    expect(f['trusted:containerd-annotations']!.evidence[0]!.said).toBe('disable_snapshot_annotations = true');
    expect(f['trusted:containerd-runtime']).toMatchObject({status: 'fail', fix: `add to ${p.config}:\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu-tdx]\n  snapshotter = "nydus"\nthen: systemctl restart containerd`});
    for (const c of Object.values(f)) if (c.status === 'fail') expect(c.fix, c.id).toMatch(/then: systemctl restart containerd$/m);
    expect(readFileSync(p.config, 'utf8')).toBe(before);
    expect(snapshot(p.d).filter((l) => l.startsWith('/config.toml'))).toEqual(snap);
    // create goes ahead with them as warnings; each fix of several lines stays indented under its "fix:".
    const made = runCli(p.create('ts-warn'), {env: p.env});
    try {
      expect(made.code, made.stderr).toBe(0);
      expect(made.stderr).toContain(`  fix: add to ${p.config}:\n       [proxy_plugins.nydus]\n         type = "snapshot"\n`);
      expect(made.stderr).toContain('\n       then: systemctl restart containerd\n');
    } finally {
      expect(runCli(['trusted-storage', 'teardown', 'ts-warn', '--dir', join(p.d, 'vol'), '--confirm', 'ts-warn'], {env: p.env}).code).toBe(0);
    }
  });

  it("containerd 2's configuration (version 3) is read at its own tables", () => {
    const v3 = `version = 3
[plugins.'io.containerd.cri.v1.images']
  disable_snapshot_annotations = false
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata-qemu-tdx]
  snapshotter = "nydus"
[proxy_plugins.nydus]
  type = "snapshot"
  address = "/run/containerd-nydus/containerd-nydus-grpc.sock"
`;
    const p = place(READY, v3);
    const ok = runCli(p.check(), {env: p.env});
    expect(ok.code, ok.stdout).toBe(0);
    const q = place(READY, 'version = 3\n');
    const f = findings(runCli(q.check(), {env: q.env}));
    expect(f['trusted:containerd-annotations']!.fix).toMatch(/^add to .*:\n\[plugins\."io\.containerd\.cri\.v1\.images"\]\n {2}disable_snapshot_annotations = false/);
    expect(f['trusted:containerd-runtime']!.fix).toMatch(/\[plugins\."io\.containerd\.cri\.v1\.runtime"\.containerd\.runtimes\.kata-qemu-tdx\]\n {2}snapshotter = "nydus"/);
  });

  it('the runtime class is looked up by its handler: the containerd runtime checked is the handler', () => {
    const p = place({...READY, runtimeClasses: {'kata-qemu-tdx': 'kata-tdx'}}, guestPullConfig('kata-tdx'));
    const r = runCli(p.check(), {env: p.env});
    expect(r.code, r.stdout).toBe(0);
    expect(findings(r)['trusted:containerd-runtime']!.summary).toMatch(/kata-tdx/);
  });

  it('a containerd config that is not TOML: fail with the line; a missing one: a warning with every line', () => {
    const p = place(READY, 'version = 2\n[plugins\n');
    const f = findings(runCli(p.check(), {env: p.env}));
    expect(f['trusted:containerd-nydus']!.status).toBe('fail');
    expect(f['trusted:containerd-nydus']!.summary).toMatch(/not valid TOML.*line 2/);
    const q = place(READY, null);
    const g = findings(runCli(q.check(), {env: q.env}));
    expect(g['trusted:containerd-nydus']!.status).toBe('warn');
    expect(g['trusted:containerd-nydus']!.summary).toMatch(/no containerd configuration/);
    expect(g['trusted:containerd-nydus']!.fix).toContain('[proxy_plugins.nydus]');
  });

  it("k3s's and rke2's containerd: found without --containerd-config, and the fix goes to the template they render it from", () => {
    // k3s and rke2 run their own containerd with <data-dir>/agent/etc/containerd/config.toml, which they
    // write anew at every start from config.toml.tmpl (config-v3.toml.tmpl for containerd 2).
    for (const [distro, version, template, restart] of [
      ['k3s', 2, 'config.toml.tmpl', 'systemctl restart k3s'],
      ['k3s', 3, 'config-v3.toml.tmpl', 'systemctl restart k3s'],
      ['rke2', 2, 'config.toml.tmpl', 'systemctl restart rke2-server'],
    ] as const) {
      const p = place(READY);
      const varRoot = join(p.d, 'var');
      const dir = join(varRoot, `lib/rancher/${distro}/agent/etc/containerd`);
      mkdirSync(dir, {recursive: true});
      writeFileSync(join(dir, 'config.toml'), `version = ${version}\n`);
      const env = {...p.env, TDX_WIZARD_ETC_ROOT: join(p.d, 'root/etc'), TDX_WIZARD_VAR_ROOT: varRoot};
      const r = runCli(p.check().filter((a, i, all) => a !== '--containerd-config' && all[i - 1] !== '--containerd-config'), {env});
      const f = findings(r);
      const nydus = f['trusted:containerd-nydus']!;
      expect(nydus.status, distro).toBe('fail');
      expect(nydus.evidence[0]!.source).toBe(join(dir, 'config.toml'));
      expect(nydus.fix).toContain(`${distro} writes ${join(dir, 'config.toml')} anew at every start: make the change in ${join(dir, template)}`);
      expect(nydus.fix).toContain('[proxy_plugins.nydus]');
      expect(nydus.fix).toMatch(new RegExp(`then: ${restart}`));
      expect(nydus.fix).not.toMatch(/restart containerd/);
      expect(readdirSync(dir)).toEqual(['config.toml']); // read, never written
    }
  });

  it('/etc/containerd/config.toml comes first when containerd runs on its own', () => {
    const p = place(READY);
    mkdirSync(join(p.d, 'root/etc/containerd'), {recursive: true});
    writeFileSync(join(p.d, 'root/etc/containerd/config.toml'), guestPullConfig('kata-qemu-tdx'));
    const k3s = join(p.d, 'var/lib/rancher/k3s/agent/etc/containerd');
    mkdirSync(k3s, {recursive: true});
    writeFileSync(join(k3s, 'config.toml'), 'version = 2\n');
    const env = {...p.env, TDX_WIZARD_ETC_ROOT: join(p.d, 'root/etc'), TDX_WIZARD_VAR_ROOT: join(p.d, 'var')};
    const r = runCli(p.check().filter((a, i, all) => a !== '--containerd-config' && all[i - 1] !== '--containerd-config'), {env});
    expect(r.code, r.stdout).toBe(0);
    expect(findings(r)['trusted:containerd-nydus']!.evidence[0]!.source).toBe(join(p.d, 'root/etc/containerd/config.toml'));
  });

  it('no cluster reachable: the cluster findings are warnings, not failures', () => {
    const p = place({context: 'tdx-lab', reachable: false});
    const r = runCli(p.check(), {env: p.env});
    expect(r.code, r.stdout).toBe(0);
    const f = findings(r);
    expect(f['trusted:cluster']).toMatchObject({status: 'warn', summary: expect.stringMatching(/not reachable/)});
    expect(f['trusted:cluster']!.evidence[0]!.said).toBe('The connection to the server localhost:8080 was refused - did you specify the right host or port?'); // stderr, not the client's JSON on stdout
    expect(f['trusted:runtime-class']).toMatchObject({status: 'warn', summary: expect.stringMatching(/not checked/)});
    expect(f['trusted:node']!.status).toBe('warn');
    const q = place({reachable: false});
    expect(findings(runCli(q.check(), {env: q.env}))['trusted:context']).toMatchObject({status: 'warn', fix: expect.stringMatching(/kubectl config use-context/)});
  });

  it('no kubectl at all: a warning naming how to get it', () => {
    const p = place(undefined);
    // the system's own kubectl hidden, if it has one; no stand-in
    const r = hidden(p.env, ['/usr/bin/kubectl', '/usr/local/bin/kubectl'], p.check());
    expect(r.code, r.stdout).toBe(0);
    expect(findings(r)['trusted:kubectl']).toMatchObject({status: 'warn', summary: expect.stringMatching(/kubectl is not on PATH/)});
  });

  it('the runtime class or the node missing from a reachable cluster: fail, with what kubectl said', () => {
    const p = place({...READY, runtimeClasses: {'kata-qemu': 'kata-qemu'}, nodes: ['node-2']});
    const r = runCli(p.check(), {env: p.env});
    expect(r.code).toBe(1);
    const f = findings(r);
    expect(f['trusted:runtime-class']).toMatchObject({status: 'fail', summary: 'no RuntimeClass kata-qemu-tdx in the cluster'});
    expect(f['trusted:runtime-class']!.evidence[0]!.said).toMatch(/NotFound/);
    expect(f['trusted:node']).toMatchObject({status: 'fail', summary: 'no node node-1 in the cluster'});
  });
});

describe('trusted-storage create runs the checks first', () => {

  for (const [tool, path, pkg] of [['losetup', '/usr/sbin/losetup', 'util-linux'], ['systemctl', '/usr/bin/systemctl', 'systemd']] as const) {
    it(`${tool} missing: exit 2, the fix, nothing made`, () => {
      const p = place(READY);
      const made = () => snapshot(p.d).filter((l) => !l.includes('/state') && !l.startsWith('/kubectl.log')); // the stand-in's own record aside
      const before = made();
      const r = hidden(p.env, [path], p.create('ts1'));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${tool} is not installed`));
      expect(r.stderr).toMatch(new RegExp(`fix: .*apt-get install -y ${pkg}`));
      expect(made()).toEqual(before);
    });
  }

  it('no free loop device: exit 2 with what losetup said, nothing made', () => {
    const p = place(READY);
    failingTool(join(p.d, 'bin'), 'losetup', 'losetup: cannot find an unused loop device', {when: '[ "$*" = --find ]'});
    const r = runCli(p.create('ts1'), {env: p.env});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no free loop device.*cannot find an unused loop device/s);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
  });

  it('no cluster reachable: made anyway, the cluster findings shown as warnings; with --apply: exit 2, nothing made', () => {
    const p = place({context: 'tdx-lab', reachable: false});
    const refused = runCli(p.create('ts1', '--apply'), {env: p.env});
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/--apply needs a cluster: the cluster is not reachable/);
    expect(readdirSync(join(p.d, 'vol'))).toEqual([]);
    const r = runCli(p.create('ts1'), {env: p.env});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: the cluster is not reachable/);
    expect(r.stderr).toMatch(/warning: the runtime class kata-qemu-tdx was not checked/);
    const device = readFileSync(join(p.d, 'root/etc/systemd/system/tdx-wizard-trusted-ts1.service'), 'utf8').match(/ExecStart=\S+ (\S+)/)![1]!;
    made.push(device);
    expect(runCli(['trusted-storage', 'teardown', 'ts1', '--dir', join(p.d, 'vol'), '--confirm', 'ts1'], {env: p.env}).code).toBe(0);
  });
});
