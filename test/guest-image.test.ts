// tdx-wizard inspect-image: guest images built here as upstream lays them out (upstream-eras.md §5):
// a GPT disk (sfdisk) with an EFI partition, a plain ext4 /boot and a root that is LUKS2
// (production) or plain ext4 with the era's mount units (debug, mkfs.ext4 -d), and an E6 image-set
// directory. Read back by the wizard's own GPT, qcow2 and ext4 readers, without root.
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {crc32, formatGuid} from '../src/disk/gpt.js';
import {inspectGuestImage} from '../src/volume/guest-image.js';
import {CLI, runCli} from './helpers/cli.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {makeVolume} from './helpers/volumes.js';

const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const MIB = 2 ** 20;
// Sectors: ESP 8 MiB, /boot 16 MiB, root 40 MiB (LUKS2's header alone is 16 MiB).
const LAYOUT = [
  {start: 2048, size: 16384, type: ESP, name: 'EFI'},
  {start: 18432, size: 32768, type: LINUX, name: 'boot'},
  {start: 51200, size: 81920, type: LINUX, name: 'root'},
];

let tmp: {path: string; remove: () => void};
const at = (...p: string[]) => join(tmp.path, ...p);

beforeAll(() => {
  requireTools('sfdisk', 'mkfs.ext4', 'cryptsetup', 'qemu-img', 'dd');
  tmp = tempDir('tdxw-guest-image-');
});
afterAll(() => tmp?.remove());

/** A plain ext4 filesystem of `mib` MiB filled from a directory tree (mkfs.ext4 -d), as a raw file. */
function ext4From(name: string, mib: number, files: Record<string, string>, label: string): string {
  const src = at(`${name}.d`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(src, path, '..'), {recursive: true});
    writeFileSync(join(src, path), text);
  }
  const raw = at(`${name}.part`);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, `${mib}M`]);
  sh('mkfs.ext4', ['-q', '-F', '-L', label, '-d', src, raw]);
  return raw;
}

/** The GPT disk: the table written by sfdisk, each partition's bytes put at its start with dd. */
function disk(name: string, root: string, format: 'qcow2' | 'raw' = 'qcow2'): string {
  const raw = at(`${name}.build.raw`);
  sh('qemu-img', ['create', '-q', '-f', 'raw', raw, `${(LAYOUT.at(-1)!.start + LAYOUT.at(-1)!.size + 2048) / 2048}M`]);
  const script = ['label: gpt', 'unit: sectors', ...LAYOUT.map((p) => `start=${p.start}, size=${p.size}, type=${p.type}, name="${p.name}"`)].join('\n');
  sh('sfdisk', ['--quiet', raw], {input: `${script}\n`});
  const boot = ext4From(`${name}-boot`, 16, {'vmlinuz-6.8.0-tdx': 'kernel', 'initrd.img-6.8.0-tdx': 'initrd'}, 'BOOT');
  for (const [part, file] of [[LAYOUT[1]!, boot], [LAYOUT[2]!, root]] as const) {
    sh('dd', [`if=${file}`, `of=${raw}`, 'bs=512', `seek=${part.start}`, 'conv=notrunc', 'status=none']);
  }
  if (format === 'raw') return raw;
  const out = at(name);
  sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]);
  return out;
}

const unit = (type: string, extra = '') => `[Unit]\nDescription=Cache storage for /var/snap\n${extra}OnFailure=poweroff.target\n\n[Mount]\nWhat=/dev/disk/by-label/tdx-cache\nWhere=/var/snap\nType=${type}\nOptions=defaults,noatime\n`;

let production: string;
let debugE4: string;

describe('inspect-image: debug or production from the partitions, the era from a debug root\'s mount units', () => {
  beforeAll(() => {
    production = disk('prod.qcow2', makeVolume(tmp.path, 'prod-root.part', {fs: 'luks2', label: 'root', size: '40M', format: 'raw'}));
    debugE4 = disk('debug-e4.qcow2', ext4From('e4-root', 40, {
      'etc/hostname': 'tdx-guest\n',
      'etc/systemd/system/var-snap.mount': unit('ext4'),
      'etc/systemd/system/cache-storage.mount': unit('ext4').replace('/var/snap', '/cache/storage'),
    }, 'cloudimg-rootfs'));
  }, 120_000);

  it('a production image: the GPT read, a crypto_LUKS root partition; the era cannot be read, and it says why', async () => {
    const info = await inspectGuestImage(production);
    expect(info).toMatchObject({kind: 'image', format: 'qcow2', build: 'production', eras: [], problems: []});
    expect(info.partitions).toEqual([
      {index: 1, type: 'EFI System', name: 'EFI', offset: 2048 * 512, size: 8 * MIB, content: 'empty'},
      {index: 2, type: 'Linux filesystem', name: 'boot', offset: 18432 * 512, size: 16 * MIB, content: 'ext4', label: 'BOOT'},
      {index: 3, type: 'Linux filesystem', name: 'root', offset: 51200 * 512, size: 40 * MIB, content: 'crypto_LUKS', label: 'root', root: true},
    ]);
    expect(info.buildEvidence).toEqual(['partition 3 (root) is crypto_LUKS: the root is encrypted, a production build']);
    expect(info.eraEvidence).toEqual(['/boot (partition 2 (boot)): initrd.img-6.8.0-tdx']);
    expect(info.eraNote).toMatch(/initrd\.img-\*.*does not unpack/);
    expect(info.name).toMatchObject({ok: true});
  });

  it('a debug image with Type=ext4 and cache-storage.mount: debug, E4 or E5, each from the unit read inside the root', async () => {
    const info = await inspectGuestImage(debugE4);
    expect(info).toMatchObject({build: 'debug', eras: ['E4', 'E5'], problems: []});
    expect(info.partitions!.find((p) => p.root)).toMatchObject({index: 3, content: 'ext4', label: 'cloudimg-rootfs'});
    expect(info.buildEvidence).toEqual(['no LUKS partition; the root, partition 3 (root), is plain ext4 (it holds /etc): a debug build']);
    expect(info.eraEvidence).toEqual([
      '/etc/systemd/system/var-snap.mount: Type=ext4, OnFailure=poweroff.target: Type=ext4 without verify-cache-volume is E4/E5',
      '/etc/systemd/system/cache-storage.mount: present, E4 on',
    ]);
  });

  it('the other eras\' units: After=verify-cache-volume.service is E1-E3; Type=auto is E6; Type=xfs E5x; none at all is unknown', async () => {
    const early = disk('debug-e3.raw', ext4From('e3-root', 40, {'etc/systemd/system/var-snap.mount': unit('ext4', 'After=verify-cache-volume.service\nRequires=verify-cache-volume.service\n')}, 'root'), 'raw');
    expect(await inspectGuestImage(early)).toMatchObject({build: 'debug', format: 'raw', eras: ['E1', 'E2', 'E3a', 'E3b']});
    const e6 = disk('debug-e6.qcow2', ext4From('e6-root', 40, {'etc/systemd/system/var-snap.mount': unit('auto'), 'etc/systemd/system/cache-storage.mount': unit('auto')}, 'root'));
    expect(await inspectGuestImage(e6)).toMatchObject({build: 'debug', eras: ['E6']});
    const e5x = disk('debug-e5x.qcow2', ext4From('e5x-root', 40, {'etc/systemd/system/var-snap.mount': unit('xfs'), 'etc/systemd/system/cache-storage.mount': unit('xfs')}, 'root'));
    expect(await inspectGuestImage(e5x)).toMatchObject({eras: ['E5x']});
    const none = disk('debug-none.qcow2', ext4From('none-root', 40, {'etc/hostname': 'x\n'}, 'root'));
    expect(await inspectGuestImage(none)).toMatchObject({build: 'debug', eras: [], eraNote: 'the root has none of the upstream mount units'});
  });

  it('the name against the format: a qcow2 named .img, a raw named .qcow2 (E5/E6 take the format from the name)', async () => {
    const img = at('tdx-guest.img');
    sh('cp', [production, img]);
    const info = await inspectGuestImage(img);
    expect(info.name).toEqual({ok: false, text: expect.stringMatching(/^a qcow2 named tdx-guest\.img: the E5\/E5x\/E6 launchers pass format=qcow2 only for a name ending \.qcow2, so it would boot as raw/), fix: `mv ${img} ${at('tdx-guest')}.qcow2`});
    const rawNamedQcow2 = at('raw-guest.qcow2');
    sh('cp', [at('debug-e3.raw.build.raw'), rawNamedQcow2]);
    expect((await inspectGuestImage(rawNamedQcow2)).name).toMatchObject({ok: false, text: expect.stringContaining('Image is not in qcow2 format'), fix: `mv ${rawNamedQcow2} ${at('raw-guest.raw')}`});
  });

  it('a damaged table is said, not guessed over', async () => {
    const raw = at('damaged.raw');
    sh('cp', [at('debug-e3.raw.build.raw'), raw]);
    const bytes = readFileSync(raw);
    bytes[512 + 40] = bytes[512 + 40]! ^ 0xff; // first usable LBA, under the header's CRC32
    writeFileSync(raw, bytes);
    const info = await inspectGuestImage(raw);
    expect(info.problems).toContain('the GPT header checksum does not match (a damaged partition table)');
    expect(info.partitions).toBeUndefined();
  });
});

describe('inspect-image of an E6 image set: manifest.json\'s "debug"', () => {
  function imageSet(name: string, manifest: object, diskPath: string): string {
    const dir = at(name);
    mkdirSync(dir);
    sh('cp', [diskPath, join(dir, 'tdx-guest.qcow2')]);
    for (const ext of ['vmlinuz', 'initrd', 'cmdline']) writeFileSync(join(dir, `tdx-guest.${ext}`), ext);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }

  it('debug false: production, E6; the disk agrees', async () => {
    const dir = imageSet('set-prod', {version: '1.2.3', debug: false, artifacts: {disk: {sha256: '0'.repeat(64), size: 1}}}, production);
    const info = await inspectGuestImage(dir);
    expect(info).toMatchObject({kind: 'image-set', disk: join(dir, 'tdx-guest.qcow2'), build: 'production', eras: ['E6'], manifest: {version: '1.2.3', debug: false}, problems: []});
    expect(info.buildEvidence[0]).toBe('manifest.json: "debug": false');
  });

  it('debug true over a LUKS root, and a debug root whose units are E4: each disagreement is a problem', async () => {
    const info = await inspectGuestImage(imageSet('set-liar', {version: '1', debug: true}, production));
    expect(info.build).toBe('debug');
    expect(info.problems).toEqual([expect.stringMatching(/^manifest\.json says debug, but the disk looks like a production build/)]);
    const e4 = await inspectGuestImage(imageSet('set-e4', {version: '1', debug: true}, debugE4));
    expect(e4.problems).toEqual([expect.stringMatching(/^the disk's own units say E4\/E5, not E6/)]);
  });

  it('the CLI: inspect-image PATH, as text and as JSON; a missing path is bad input', () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: npm run build first`);
    const text = runCli(['inspect-image', debugE4]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^build: debug$/m);
    expect(text.stdout).toMatch(/^era: E4 or E5$/m);
    expect(text.stdout).toMatch(/^ {2}3 {2}Linux filesystem "root" {2}40 MiB {2}ext4 \(cloudimg-rootfs\) {2}<- root$/m);
    const json = runCli(['--json', 'inspect-image', production]);
    expect(json.code, json.stderr).toBe(0);
    const result = json.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((o) => o.type === 'result');
    expect(result).toMatchObject({ok: true, kind: 'image', build: 'production', format: 'qcow2', eras: []});
    expect(runCli(['inspect-image', at('nope.qcow2')]).code).toBe(2);
  });
});

describe('the GPT reader\'s pieces', () => {
  it('CRC32 and mixed-endian GUIDs as UEFI writes them', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(formatGuid(Buffer.from('2873 2AC1 1FF8 D211 BA4B 00A0C93EC93B'.replace(/ /g, ''), 'hex'))).toBe(ESP);
  });
});
