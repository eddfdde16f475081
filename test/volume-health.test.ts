// inspect and verify read the ext4 superblock's health and the filesystem's size against its
// image's: a filesystem flagged with errors, or much smaller than its image after a stopped grow,
// is not "ready"; each gets its own verdict with the fix. Real volumes, real tools.
import {mkdirSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from './helpers/cli.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
const MiB = 2 ** 20;

beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'fusermount3', 'mkfs.ext4', 'debugfs', 'e2fsck', 'resize2fs');
  tmp = tempDir('tdxw-health-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'), CI: 'true'};
});
afterAll(() => tmp?.remove());

function result(args: string[]): {code: number | null; r: Record<string, unknown>; stderr: string} {
  const out = runCli(args, {env});
  const r = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.type === 'result')!;
  return {code: out.code, r, stderr: out.stderr};
}

/** An ext4 qcow2 labelled tdx-cache whose superblock debugfs has changed (`ssv ...`, `feature ...`). */
function damaged(name: string, commands: string[]): string {
  const dir = join(tmp.path, name);
  mkdirSync(dir);
  const raw = join(dir, 'vol.raw');
  const path = join(dir, 'vol.qcow2');
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, '256M']);
  sh('mkfs.ext4', ['-q', '-F', '-L', 'tdx-cache', raw]);
  for (const cmd of commands) sh('debugfs', ['-w', '-R', cmd, raw]);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, path]);
  rmSync(raw);
  return path;
}

describe('a filesystem flagged with errors is not ready', () => {
  it('errors recorded by the kernel (count, last function, line, time): verdict fs-errors with the repair', () => {
    const path = damaged('errors', ['ssv state 3', 'ssv error_count 5', 'ssv last_error_func ext4_lookup', 'ssv last_error_line 42', 'ssv last_error_time 1700000000']);
    const v = result(['verify', '--json', path]);
    expect(v.code, v.stderr).toBe(1);
    expect(v.r).toMatchObject({verdict: 'fs-errors'});
    expect(v.r.reason).toMatch(/superblock says the filesystem has errors \(5 errors recorded; the last in ext4_lookup line 42 at 2023-11-14T22:13:20\.000Z\)/);
    expect(v.r.fix).toBe(`tdx-wizard repair ${path} (e2fsck -f -y with nothing using it; it may drop files it cannot repair, so it asks for the file name)`);
    expect(result(['inspect', '--json', path]).r).toMatchObject({verdict: 'fs-errors', fsState: 'errors', accepted: false});
  });

  it('only the error state set (no count): fs-errors too', () => {
    const path = damaged('state-only', ['ssv state 3']);
    const v = result(['verify', '--json', path]);
    expect(v.code).toBe(1);
    expect(v.r).toMatchObject({verdict: 'fs-errors'});
    expect(v.r.reason).toMatch(/its state is "with errors"/);
  });

  it('a journal needing recovery is said, and the volume stays ready (the guest replays it at mount)', () => {
    const path = damaged('recover', ['feature needs_recovery']);
    const i = result(['inspect', '--json', path]).r;
    expect((i.warnings as string[]).join('\n')).toMatch(/journal needs recovery/);
    expect(i).toMatchObject({verdict: 'ready'});
  });
});

describe('a filesystem much smaller than its image (a grow that stopped) is not ready', () => {
  it('the image grown by qemu-img alone: verdict grow-unfinished; its fix finishes the grow and it is ready', () => {
    const dir = join(tmp.path, 'unfinished');
    mkdirSync(dir);
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '256M'});
    sh('qemu-img', ['resize', '-q', '-f', 'qcow2', path, '320M']);
    const v = result(['verify', '--json', path]);
    expect(v.code).toBe(1);
    expect(v.r).toMatchObject({verdict: 'grow-unfinished', fix: `tdx-wizard resize ${path} ${320 * MiB} (finishes the grow: e2fsck -f, then resize2fs)`});
    expect(v.r.reason).toMatch(/its filesystem fills 256 MiB of the 320 MiB image/);
    const fix = runCli(['resize', '--yes', path, String(320 * MiB)], {env});
    expect(fix.code, fix.stderr).toBe(0);
    expect(result(['verify', '--json', path])).toMatchObject({code: 0, r: {verdict: 'ready'}});
  });

  it('mkfs rounding (an image not a multiple of the block or group size) stays ready', () => {
    const dir = join(tmp.path, 'odd');
    mkdirSync(dir);
    const path = makeVolume(dir, 'vol.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '1000003k'});
    expect(result(['verify', '--json', path])).toMatchObject({code: 0, r: {verdict: 'ready'}});
  });
});
