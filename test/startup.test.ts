// The CLI run as a program (its #! line) starts Node without NODE_EXTRA_CA_CERTS, which Node 20
// loads at start-up for TLS the wizard never makes, and gives it back to the commands it runs.
import {spawnSync} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI} from './helpers/cli.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
const MISSING = '/nonexistent/tdx-wizard-test-ca.pem';
const WARNING = /Ignoring extra certs from/;

beforeAll(() => {
  tmp = tempDir('tdxw-startup-');
});
afterAll(() => tmp.remove());

/** Stand-ins for the first tools create runs: each records the two variables it was given ("unset" if so), then fails. */
function standIns(name: string): {bin: string; seen: string} {
  const bin = join(tmp.path, `bin-${name}`);
  const seen = join(tmp.path, `seen-${name}.txt`);
  mkdirSync(bin);
  const standIn = `#!/bin/sh\nprintf '%s|%s\\n' "\${NODE_EXTRA_CA_CERTS-unset}" "\${TDXW_CA-unset}" >> ${seen}\necho "stand-in: fails on purpose" >&2\nexit 1\n`;
  for (const tool of ['qemu-img', 'mkfs.ext4']) writeFileSync(join(bin, tool), standIn, {mode: 0o755});
  return {bin, seen};
}

function run(argv: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(argv[0]!, argv.slice(1), {env: {...process.env, CI: 'true', ...env}, input: '', encoding: 'utf8', timeout: 60_000});
}

describe('start-up without NODE_EXTRA_CA_CERTS', () => {
  it('Node started through `node dist/cli.js` reads the file (the check below can fail)', () => {
    const r = run([process.execPath, CLI, '--version'], {NODE_EXTRA_CA_CERTS: MISSING});
    expect(r.stderr).toMatch(WARNING);
  });

  it('dist/cli.js as a program never opens it', () => {
    const r = run([CLI, '--version'], {NODE_EXTRA_CA_CERTS: MISSING});
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).toBe('');
  });

  it('the commands the wizard runs get the variable back, unchanged, and no helper variable', () => {
    const {bin, seen} = standIns('1');
    const value = '/etc/ssl/my ca $dir/bundle.pem';
    const r = run([CLI, 'create', join(tmp.path, 'v.qcow2'), '5000G'], {
      NODE_EXTRA_CA_CERTS: value,
      PATH: `${bin}:${process.env.PATH}`,
      TDX_WIZARD_SCRATCH_DIR: '',
      TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'),
    });
    expect(r.status, r.stderr).toBe(1); // the stand-in failed the create
    expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe(`${value}|unset`);
  });

  it('without the variable, none is made up for the commands', () => {
    const {bin, seen} = standIns('2');
    const env: NodeJS.ProcessEnv = {...process.env, CI: 'true', PATH: `${bin}:${process.env.PATH}`, TDX_WIZARD_SCRATCH_DIR: '', TDX_WIZARD_STATE_DIR: join(tmp.path, 'state2')};
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(CLI, ['create', join(tmp.path, 'w.qcow2'), '5000G'], {env, input: '', encoding: 'utf8', timeout: 60_000});
    expect(r.status, r.stderr).toBe(1);
    expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe('unset|unset');
  });
});

// glibc gives each thread that mallocs an arena of its own and keeps what was freed there: V8's
// compiler threads left the log pane 6 MB larger after a flood (74 -> 68 MB with one arena,
// bench/log-ab.mjs). Node runs with MALLOC_ARENA_MAX=1; the programs it starts (QEMU among them,
// through the launchers) must not.
describe('MALLOC_ARENA_MAX', () => {
  /** A stand-in mkfs.ext4 that records its own MALLOC_ARENA_MAX, the #! line's helper variable, and its parent's MALLOC_ARENA_MAX (Node's, as started), then fails. */
  function arenaStandIn(name: string): {bin: string; seen: string} {
    const bin = join(tmp.path, `bin-arena-${name}`);
    const seen = join(tmp.path, `arena-${name}.txt`);
    mkdirSync(bin);
    const standIn = `#!/bin/sh\nprintf '%s|%s|%s\\n' "\${MALLOC_ARENA_MAX-unset}" "\${TDXW_ARENA-unset}" "$(tr '\\0' '\\n' < /proc/$PPID/environ | sed -n 's/^MALLOC_ARENA_MAX=//p')" >> ${seen}\nexit 1\n`;
    writeFileSync(join(bin, 'mkfs.ext4'), standIn, {mode: 0o755});
    return {bin, seen};
  }

  it.each([
    ['unset', undefined],
    ['the operator\'s own', '4'],
  ])('Node starts with 1; the commands it runs get it %s', (_name, value) => {
    const {bin, seen} = arenaStandIn(value ?? 'none');
    const env: NodeJS.ProcessEnv = {...process.env, CI: 'true', PATH: `${bin}:${process.env.PATH}`, TDX_WIZARD_SCRATCH_DIR: '', TDX_WIZARD_STATE_DIR: join(tmp.path, `state-arena-${value}`)};
    if (value === undefined) delete env.MALLOC_ARENA_MAX;
    else env.MALLOC_ARENA_MAX = value;
    const r = spawnSync(CLI, ['create', join(tmp.path, `arena-${value}.qcow2`), '5000G'], {env, input: '', encoding: 'utf8', timeout: 60_000});
    expect(r.status, r.stderr).toBe(1); // the stand-in failed the create
    expect(readFileSync(seen, 'utf8').split('\n')[0]).toBe(`${value ?? 'unset'}|unset|1`); // and no helper variable
  });
});

// Node's built-in modules cost start-up time even from its code cache (child_process with net,
// stream and dgram: 4-5 ms here; zlib 3-4; readline). verify and inspect spawn nothing, read no
// compressed cluster of a plain volume and ask nothing: they load none of them.
describe('what a read-only command loads', () => {
  it('verify of a volume loads neither child_process, zlib nor readline', () => {
    const volume = join(tmp.path, 'plain.qcow2');
    const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', volume, '1G'], {encoding: 'utf8'});
    expect(made.status, `qemu-img (Debian package qemu-utils): ${made.stderr}`).toBe(0);
    const hook = join(tmp.path, 'loaded.cjs');
    const list = join(tmp.path, 'loaded.txt');
    writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`);
    const r = run([process.execPath, '-r', hook, CLI, 'verify', volume], {});
    expect(r.stdout + r.stderr).toMatch(/verdict|no filesystem|unformatted|empty/i);
    const loaded = readFileSync(list, 'utf8').split('\n');
    expect(loaded).toContain('NativeModule fs'); // the list is the real one
    expect(loaded.filter((m) => /^NativeModule (child_process|zlib|readline)$/.test(m))).toEqual([]);
  });
});
