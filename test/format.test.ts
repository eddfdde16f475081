// format destroys what a volume holds, so it asks for the file name typed back (--confirm NAME
// without a terminal), and --yes never stands in for that.
import {createHash} from 'node:crypto';
import {mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {runCli} from './helpers/cli.js';
import {requireTools, tempDir} from './helpers/tools.js';
import {holdImage, makeVolume} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;
let dir: string;

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function verdictOf(path: string): string {
  const r = runCli(['inspect', '--json', path], {env});
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.type === 'result').verdict;
}

beforeAll(() => {
  requireTools('qemu-img', 'qemu-storage-daemon', 'mkfs.ext4', 'mkfs.xfs', 'cryptsetup', 'qemu-nbd');
  tmp = tempDir('tdxw-format-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), CI: 'true'};
  dir = join(tmp.path, 'v');
  mkdirSync(dir);
});
afterAll(() => tmp.remove());

describe('format', () => {
  it('formats an empty volume with --yes', () => {
    const path = makeVolume(dir, 'empty.qcow2', {fs: 'empty'});
    const r = runCli(['format', '--yes', path], {env});
    expect(r.stderr).not.toMatch(/^failed/m);
    expect(r.code).toBe(0);
    expect(verdictOf(path)).toBe('ready');
  });

  it('refuses to destroy a filesystem without the typed name, even with --yes', () => {
    const path = makeVolume(dir, 'xfs.qcow2', {fs: 'xfs', label: 'models'});
    const before = digest(path);
    for (const args of [['format', path], ['format', '--yes', path], ['format', '--confirm', 'other.qcow2', path]]) {
      const r = runCli(args, {env});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/holds xfs labelled "models"\. Formatting destroys everything on it/);
      expect(r.stderr).toMatch(/fix: pass --confirm "xfs\.qcow2"/);
      expect(digest(path)).toBe(before);
    }
    const ok = runCli(['format', '--confirm', 'xfs.qcow2', path], {env});
    expect(ok.code).toBe(0);
    expect(verdictOf(path)).toBe('ready');
  });

  it('names what a LUKS header means before destroying it, and refuses outright one a production guest made', () => {
    const path = makeVolume(dir, 'luks.qcow2', {fs: 'luks2', label: 'old-luks'});
    const before = digest(path);
    const r = runCli(['format', '--yes', path], {env});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LUKS header labelled "old-luks": a production guest's encrypted data/);
    expect(digest(path)).toBe(before);
    const guests = makeVolume(dir, 'luks-guest.qcow2', {fs: 'luks2', label: 'tdx-cache'});
    const kept = digest(guests);
    const g = runCli(['format', '--confirm', 'luks-guest.qcow2', guests], {env});
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/LUKS2 labelled "tdx-cache": a production guest encrypted it at its first boot/);
    expect(digest(guests)).toBe(kept);
  });

  it('refuses an image in use', async () => {
    const path = makeVolume(dir, 'held.qcow2', {fs: 'ext4', label: 'x'});
    const holder = await holdImage(path);
    try {
      const r = runCli(['format', '--confirm', 'held.qcow2', path], {env});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/in use \(held by qemu-nbd/);
    } finally {
      await holder.release();
    }
    expect(verdictOf(path)).toBe('wrong-label');
  });
});
