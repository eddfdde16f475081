// The `check` and `nbd` subcommands, run in-process through commander exactly as src/cli.ts wires
// them: output (text and --json) and exit codes (0 ok, 1 failed, 2 bad input).
import {Command} from 'commander';
import {chmodSync} from 'node:fs';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {register as registerCheck} from '../src/commands/check.js';
import {register as registerNbd} from '../src/commands/nbd.js';
import {putRecord, readRecords} from '../src/nbd/state.js';
import {makeImage, nbdTest, type NbdTest} from './helpers/nbd-setup.js';

let t: NbdTest;
afterEach(async () => t.done());

async function cli(...args: string[]): Promise<{code: number; stdout: string; stderr: string; events: Array<Record<string, unknown>>}> {
  const program = new Command('tdx-wizard').option('--json').option('--dry-run').option('--verbose').option('--transcript-format <f>').exitOverride();
  registerCheck(program);
  registerNbd(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    process.exitCode = 0;
    await program.parseAsync(['node', 'tdx-wizard', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  const events = args.includes('--json') ? stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  return {code, stdout, stderr, events};
}

const result = (events: Array<Record<string, unknown>>) => events.find((e) => e.type === 'result')!;

describe('tdx-wizard nbd', () => {
  it('list --json: every device with its state', async () => {
    t = nbdTest({devices: [{state: 'free'}, {state: 'connected', image: '/v/a.qcow2'}, {state: 'stale'}]});
    const r = await cli('--json', 'nbd', 'list');
    expect(r.code).toBe(0);
    const {devices, module} = result(r.events) as {devices: Array<Record<string, unknown>>; module: Record<string, unknown>};
    expect(devices.map((d) => [d.name, d.state, d.image ?? null])).toEqual([['nbd0', 'free', null], ['nbd1', 'connected', '/v/a.qcow2'], ['nbd2', 'stale', null]]);
    expect(module).toMatchObject({loaded: true, nbdsMax: 3});
  });

  it('list: a readable table, with the reason for each bad device', async () => {
    t = nbdTest({devices: [{state: 'free'}, {state: 'mounted', image: '/v/a.qcow2', mountpoint: '/mnt/c'}, {state: 'held'}]});
    const r = await cli('nbd', 'list');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^DEVICE\s+STATE\s+PID\s+SIZE\s+IMAGE\s+PARTS\s+HOLDERS\s+MOUNTS$/);
    expect(lines[1]).toMatch(/^\/dev\/nbd0\s+free\s+-\s+0\s+-/);
    expect(lines[2]).toMatch(/^\/dev\/nbd1\s+connected\s+\d+\s+1 GiB\s+\/v\/a\.qcow2\s+-\s+-\s+\/dev\/nbd1 on \/mnt\/c$/);
    expect(lines).toContain('/dev/nbd2: held by dm-0');
  });

  it('list without the module: says how to load it', async () => {
    t = nbdTest({module: 'missing'});
    expect((await cli('nbd', 'list')).stdout).toContain('fix: tdx-wizard nbd load');
  });

  it('detach /dev/sda: exit 2 with the message and the fix; nothing runs', async () => {
    t = nbdTest();
    const r = await cli('nbd', 'detach', '/dev/sda');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: /dev/sda is not an NBD device');
    expect(r.stderr).toContain('fix: give /dev/nbdN; tdx-wizard nbd list shows them');
    expect(t.host.log()).toEqual([]);
  });

  it('detach a device this wizard did not attach: needs --confirm (no terminal: exit 2 naming it)', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/a.qcow2'}]});
    const refused = await cli('nbd', 'detach', '/dev/nbd0');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('fix: pass --confirm "/dev/nbd0"');
    expect(t.host.log()).toEqual([]);
    const done = await cli('--json', 'nbd', 'detach', '/dev/nbd0', '--confirm', '/dev/nbd0');
    expect(done.code).toBe(0);
    expect(result(done.events)).toMatchObject({device: '/dev/nbd0', alreadyFree: false});
    expect(t.host.sysfsPid('nbd0')).toBeUndefined();
  });

  it('attach keeps the device attached after the command; detach then needs no confirmation', async () => {
    t = nbdTest({devices: 2});
    const image = makeImage(t.host);
    const r = await cli('--json', 'nbd', 'attach', image);
    expect(r.code).toBe(0);
    expect(result(r.events)).toMatchObject({device: '/dev/nbd0', image});
    expect(t.host.sysfsPid('nbd0')).toBeDefined();
    expect(await readRecords()).toEqual([expect.objectContaining({device: 'nbd0', kept: true})]);
    const d = await cli('nbd', 'detach', '/dev/nbd0');
    expect([d.code, d.stdout.trim()]).toEqual([0, '/dev/nbd0 is detached and free; qemu-nbd has exited']);
  });

  it('load: loads and says how to persist', async () => {
    t = nbdTest({module: 'missing'});
    const r = await cli('nbd', 'load');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('loaded nbd: 16 devices (nbds_max=16, max_part=8)');
    expect(r.stdout).toContain('tdx-wizard nbd load --persist');
  });

  it('recover: without a terminal it asks for --yes; with --yes it detaches the leftover', async () => {
    t = nbdTest({devices: [{state: 'connected', image: '/v/a.qcow2'}]});
    await putRecord({device: 'nbd0', image: '/v/a.qcow2', format: 'qcow2', pidFile: '/x', ownerPid: 999_999, phase: 'attached', since: ''});
    const asked = await cli('nbd', 'recover');
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('fix: pass --yes');
    const r = await cli('nbd', 'recover', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\/dev\/nbd0: attached, detached:/);
    expect(await readRecords()).toEqual([]);
  });
});

describe('tdx-wizard check', () => {
  it('--json: every check with evidence; exit 0 when nothing failed', async () => {
    t = nbdTest({tdx: 'Y'});
    const launcher = t.host.write('run-tdx.sh', '#!/bin/bash\n');
    chmodSync(launcher, 0o755);
    const r = await cli('--json', 'check', '--dir', t.host.root, '--launcher', launcher);
    const res = result(r.events) as {ok: boolean; checks: Array<{id: string; status: string; evidence: unknown[]}>};
    expect(res.ok).toBe(true);
    expect(r.code).toBe(0);
    expect(res.checks.every((c) => c.evidence.length > 0)).toBe(true);
  });

  it('a failed check: exit 1, the table says how many', async () => {
    t = nbdTest({kvm: false, tdx: 'Y'});
    const r = await cli('check', '--dir', t.host.root);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL {2}\/dev\/kvm \(the VM runs on KVM\): missing: the VM cannot start$/m);
    expect(r.stdout.trim()).toMatch(/\n1 failed, \d+ warnings$/);
  });
});
