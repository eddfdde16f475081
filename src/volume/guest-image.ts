// What a guest image is, read-only and without root (upstream-eras.md §5 "Guest image"): a
// production build has a LUKS root partition (an EFI partition, a small plain ext4 /boot, the root
// crypto_LUKS); a debug build a plain ext4 root. An E6 image set is a directory whose manifest.json
// says `debug`. Where the root is plain ext4, its mount units tell the era: var-snap.mount
// `After=verify-cache-volume.service` (E1-E3), `Type=ext4` (E4/E5), `Type=xfs` (E5x), `Type=auto`
// (E6); cache-storage.mount only from E4 on. From E5 on the launcher takes the boot image's format
// from its name, so a qcow2 must be named .qcow2.
import {readdir, readFile, stat} from 'node:fs/promises';
import {basename, join, resolve} from 'node:path';
import {readExt4, type Ext4Fs} from '../config-volume/ext4-read.js';
import {formatFromName} from '../era/choose.js';
import {ERAS, type EraId} from '../era/eras.js';
import {readGpt, sliceView, GptError} from '../disk/gpt.js';
import {probeVolume, type ProbeType, type VolumeView} from '../disk/probe.js';
import {openImage, type ImageFormat} from '../disk/qcow2.js';

export type Build = 'production' | 'debug' | 'unknown';

export interface ImagePartition {
  index: number;
  type: string;
  name: string;
  offset: number;
  size: number;
  content: ProbeType;
  label?: string;
  /** The partition holding the root filesystem (the LUKS one of a production build). */
  root?: boolean;
}

export interface GuestImage {
  path: string;
  kind: 'image' | 'image-set';
  /** The disk of an image set; the file itself otherwise. */
  disk?: string;
  format?: ImageFormat;
  virtualSize?: number;
  /** Undefined: no partition table (the whole disk probed). */
  partitions?: ImagePartition[];
  build: Build;
  /** What told the build, one finding a line. */
  buildEvidence: string[];
  /** The eras the image can belong to; empty when it cannot be told. */
  eras: EraId[];
  eraEvidence: string[];
  /** Why the era cannot be told, when it cannot. */
  eraNote?: string;
  /** The name against the format, for the launchers that take the format from the name (E5 on). */
  name: {ok: boolean; text: string; fix?: string};
  manifest?: {version?: unknown; debug?: boolean};
  /** Things that are wrong or do not agree. */
  problems: string[];
}

/** Launchers that pass the boot image's format from its name (their volumes' rule is by-extension). */
const BY_NAME = ERAS.filter((e) => e.volumes.some((v) => v.formatRule === 'by-extension')).map((e) => e.id);
const FROM = (id: EraId) => ERAS.slice(ERAS.findIndex((e) => e.id === id)).map((e) => e.id);
const UNITS = '/etc/systemd/system';

export async function inspectGuestImage(input: string): Promise<GuestImage> {
  const path = resolve(input);
  const st = await stat(path);
  if (st.isDirectory()) return inspectImageSet(path);
  return inspectDisk(path, 'image');
}

async function inspectImageSet(dir: string): Promise<GuestImage> {
  const files = await readdir(dir);
  const problems: string[] = [];
  let manifest: {version?: unknown; debug?: boolean} | undefined;
  if (files.includes('manifest.json')) {
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
      manifest = {version: parsed.version, ...(typeof parsed.debug === 'boolean' ? {debug: parsed.debug} : {})};
      if (typeof parsed.debug !== 'boolean') problems.push(`${join(dir, 'manifest.json')} has no boolean "debug"`);
    } catch (error) {
      problems.push(`${join(dir, 'manifest.json')} is not JSON: ${(error as Error).message}`);
    }
  } else problems.push(`${dir} has no manifest.json: not an E6 image set`);
  const disks = files.filter((f) => /\.(qcow2|raw|img)$/i.test(f)).sort();
  if (disks.length !== 1) problems.push(disks.length ? `${dir} holds ${disks.length} disk images (${disks.join(', ')}); an image set has one` : `${dir} holds no disk image (<name>.qcow2)`);
  for (const part of ['vmlinuz', 'initrd', 'cmdline']) if (!files.some((f) => f.endsWith(`.${part}`))) problems.push(`${dir} has no .${part} (chutes-cvm boots the kernel directly)`);
  const disk = disks[0] ? await inspectDisk(join(dir, disks[0]), 'image-set') : undefined;
  const result: GuestImage = {
    path: dir,
    kind: 'image-set',
    ...(disk ? {disk: disk.path, format: disk.format, virtualSize: disk.virtualSize, partitions: disk.partitions} : {}),
    build: manifest?.debug === undefined ? (disk?.build ?? 'unknown') : manifest.debug ? 'debug' : 'production',
    buildEvidence: [...(manifest?.debug !== undefined ? [`manifest.json: "debug": ${manifest.debug}`] : []), ...(disk?.buildEvidence ?? [])],
    eras: manifest ? ['E6'] : (disk?.eras ?? []),
    eraEvidence: manifest ? ['a directory with manifest.json and the kernel beside the disk: an E6 image set (chutes-cvm)', ...(disk?.eraEvidence ?? [])] : (disk?.eraEvidence ?? []),
    ...(manifest ? {} : disk?.eraNote ? {eraNote: disk.eraNote} : {}),
    name: disk?.name ?? {ok: false, text: 'no disk image to judge'},
    ...(manifest ? {manifest} : {}),
    problems: [...problems, ...(disk?.problems ?? [])],
  };
  if (manifest?.debug !== undefined && disk && disk.build !== 'unknown' && (disk.build === 'debug') !== manifest.debug) {
    result.problems.push(`manifest.json says ${manifest.debug ? 'debug' : 'production'}, but the disk looks like a ${disk.build} build (${disk.buildEvidence.join('; ')})`);
  }
  if (manifest && disk && disk.eras.length && !disk.eras.includes('E6')) result.problems.push(`the disk's own units say ${disk.eras.join('/')}, not E6 (${disk.eraEvidence.join('; ')})`);
  return result;
}

function nameCheck(path: string, format: ImageFormat): GuestImage['name'] {
  const named = formatFromName(path);
  const launchers = `the ${BY_NAME.join('/')} launchers pass format=qcow2 only for a name ending .qcow2`;
  if (format === named) return {ok: true, text: `${format}, named ${format === 'qcow2' ? '.qcow2' : 'other than .qcow2'}: ${launchers}`};
  if (format === 'qcow2') return {ok: false, text: `a qcow2 named ${basename(path)}: ${launchers}, so it would boot as raw (unbootable); E1-E4 launchers let QEMU probe it`, fix: `mv ${path} ${path.replace(/\.(raw|img)$/i, '')}.qcow2`};
  return {ok: false, text: `a raw image named .qcow2: ${launchers}, and QEMU refuses it ("Image is not in qcow2 format")`, fix: `mv ${path} ${path.replace(/\.qcow2$/i, '.raw')}`};
}

async function inspectDisk(path: string, kind: GuestImage['kind']): Promise<GuestImage> {
  const image = await openImage(path);
  try {
    const result: GuestImage = {path, kind, format: image.format, virtualSize: image.virtualSize, build: 'unknown', buildEvidence: [], eras: [], eraEvidence: [], name: nameCheck(path, image.format), problems: []};
    let gpt;
    try {
      gpt = await readGpt(image);
    } catch (error) {
      if (!(error instanceof GptError)) throw error;
      result.problems.push(error.message);
    }
    const parts: Array<{part?: ImagePartition; view: VolumeView}> = [];
    if (gpt) {
      result.partitions = [];
      for (const p of gpt.partitions) {
        const view = sliceView(image, p.offset, p.size);
        const probe = await probeVolume(view);
        const part: ImagePartition = {index: p.index, type: p.typeName, name: p.name, offset: p.offset, size: p.size, content: probe.type, ...(probe.label ? {label: probe.label} : {})};
        result.partitions.push(part);
        parts.push({part, view});
      }
    } else parts.push({view: image});
    const where = (p?: ImagePartition) => (p ? `partition ${p.index}${p.name ? ` (${p.name})` : ''}` : 'the whole disk (no partition table)');

    const luks = parts.find((p) => p.part ? p.part.content === 'crypto_LUKS' : false) ?? (gpt ? undefined : (await probeVolume(image)).type === 'crypto_LUKS' ? parts[0] : undefined);
    if (luks) {
      if (luks.part) luks.part.root = true;
      result.build = 'production';
      result.buildEvidence.push(`${where(luks.part)} is crypto_LUKS: the root is encrypted, a production build`);
      const boot = await bootFiles(parts.filter((p) => p !== luks));
      if (boot) result.eraEvidence.push(`/boot (${where(boot.part)}): ${boot.initrds.join(', ') || 'no initrd.img-*'}`);
      result.eraNote = 'a production root is encrypted: its mount units cannot be read; the era is in /boot/initrd.img-* (scripts/init-bottom/setup_storage: mkfs.ext4 for E4/E5, mkfs.xfs for E5x/E6), which this reader does not unpack';
      return result;
    }
    // No LUKS: the root is the plain filesystem holding /etc.
    for (const p of parts) {
      const type = p.part?.content ?? (await probeVolume(p.view)).type;
      if (type !== 'ext4' && type !== 'ext3' && type !== 'ext2') continue;
      let fs: Ext4Fs;
      try {
        fs = await readExt4(p.view);
      } catch (error) {
        result.problems.push(`${where(p.part)}: ${(error as Error).message}`);
        continue;
      }
      if (!(await fs.lookup('/etc'))?.isDirectory) continue;
      if (p.part) p.part.root = true;
      result.build = 'debug';
      result.buildEvidence.push(`no LUKS partition; the root, ${where(p.part)}, is plain ${type} (it holds /etc): a debug build`);
      await erasFromUnits(fs, result);
      return result;
    }
    const plain = parts.find((p) => p.part && ['ext4', 'ext3', 'ext2', 'xfs'].includes(p.part.content));
    if (plain?.part) {
      result.build = 'debug';
      result.buildEvidence.push(`no LUKS partition; ${where(plain.part)} is plain ${plain.part.content}, but no root (/etc) was found to read: probably a debug build`);
    } else result.buildEvidence.push('no LUKS partition and no plain filesystem: not a guest image this reader knows');
    result.eraNote = 'no root filesystem read';
    return result;
  } finally {
    await image.close();
  }
}

/** The initrd names in a plain /boot partition (its root directory), for the operator. */
async function bootFiles(parts: Array<{part?: ImagePartition; view: VolumeView}>): Promise<{part?: ImagePartition; initrds: string[]} | undefined> {
  for (const p of parts) {
    if (p.part?.content !== 'ext4' && p.part?.content !== 'ext2' && p.part?.content !== 'ext3') continue;
    try {
      const fs = await readExt4(p.view);
      const names = (await fs.list(fs.root)).map((e) => e.name);
      if (names.some((n) => n.startsWith('vmlinuz') || n.startsWith('initrd') || n === 'grub')) return {part: p.part, initrds: names.filter((n) => n.startsWith('initrd.img')).sort()};
    } catch {
      /* not a readable /boot */
    }
  }
  return undefined;
}

/** The `Key=value` lines of a unit file (the last value of each key, and every After=). */
function unitKeys(text: string): {type?: string; after: string[]; onFailure?: string} {
  const out: {type?: string; after: string[]; onFailure?: string} = {after: []};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const m = line.match(/^(\w+)\s*=\s*(.*)$/);
    if (!m) continue;
    if (m[1] === 'Type') out.type = m[2]!.trim();
    if (m[1] === 'After') out.after.push(...m[2]!.split(/\s+/).filter(Boolean));
    if (m[1] === 'OnFailure') out.onFailure = m[2]!.trim();
  }
  return out;
}

/** The eras a debug root's mount units fit (upstream-eras.md §5). */
async function erasFromUnits(fs: Ext4Fs, result: GuestImage): Promise<void> {
  const file = async (name: string) => {
    const entry = await fs.lookup(`${UNITS}/${name}`);
    return entry?.isFile ? (await fs.read(entry)).toString('utf8') : undefined;
  };
  const varSnap = await file('var-snap.mount');
  const cacheStorage = await file('cache-storage.mount');
  let eras: EraId[] | undefined;
  const narrow = (ids: EraId[], why: string) => {
    eras = eras ? eras.filter((e) => ids.includes(e)) : ids;
    result.eraEvidence.push(why);
  };
  if (varSnap !== undefined) {
    const unit = unitKeys(varSnap);
    const said = `${UNITS}/var-snap.mount: Type=${unit.type ?? '(none)'}${unit.after.length ? `, After=${unit.after.join(' ')}` : ''}${unit.onFailure ? `, OnFailure=${unit.onFailure}` : ''}`;
    if (unit.after.includes('verify-cache-volume.service')) narrow(['E1', 'E2', 'E3a', 'E3b'], `${said}: After=verify-cache-volume.service is E1-E3`);
    else if (unit.type === 'ext4') narrow(['E4', 'E5'], `${said}: Type=ext4 without verify-cache-volume is E4/E5`);
    else if (unit.type === 'xfs') narrow(['E5x'], `${said}: Type=xfs is E5x (XFS-strict)`);
    else if (unit.type === 'auto') narrow(['E6'], `${said}: Type=auto is E6`);
    else result.eraEvidence.push(`${said}: matches no known era`);
  } else result.eraEvidence.push(`${UNITS}/var-snap.mount: absent`);
  if (cacheStorage !== undefined) narrow(FROM('E4'), `${UNITS}/cache-storage.mount: present, E4 on`);
  else if (varSnap !== undefined) narrow(ERAS.slice(0, ERAS.findIndex((e) => e.id === 'E4')).map((e) => e.id), `${UNITS}/cache-storage.mount: absent, before E4`);
  result.eras = eras ?? [];
  if (!result.eras.length) result.eraNote = eras ? 'the mount units do not agree with any one era' : 'the root has none of the upstream mount units';
}
