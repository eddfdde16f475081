// "Will the VM accept this volume?" answered from the file itself: no root, no NBD, no process
// started, nothing written. The qcow2 is read with the project's own reader, the filesystem or
// LUKS header probed in the guest view, and qemu's image lock looked up in /proc/locks.
import {lstat, open} from 'node:fs/promises';
import {ImageError, openImage} from '../disk/qcow2.js';
import {probeVolume, type Probe} from '../disk/probe.js';
import {imageUse, type Holder, type UseReport} from '../attach/holders.js';
import {defaultExpectation, judge, productionNote, type Expectation} from './judge.js';
import type {EraId, Role} from '../era/eras.js';
import type {Verdict, VolumeVerdict} from './verdict.js';

export interface Inspection extends VolumeVerdict {
  format?: 'qcow2' | 'raw';
  virtualSize?: number;
  allocatedSize?: number;
  backingChain: string[];
  filesystem?: Probe['type'];
  label?: string;
  uuid?: string;
  /** The filesystem's own size (from its superblock), when it says. */
  filesystemSize?: number;
  /** What the ext2/3/4 superblock says of its health: clean, not-clean (not unmounted cleanly), errors. */
  fsState?: Probe['state'];
  inUse: boolean;
  inUseDetail?: string;
  /** Who holds it open (from /proc), when it is in use. */
  holders?: Holder[];
  /** qemu's corrupt bit in the qcow2 header (incompatible feature bit 1). */
  qcow2Corrupt?: boolean;
  /** What the content alone would be judged, when something else (in use, corrupt) decided the verdict. */
  contentVerdict?: Verdict;
  warnings: string[];
  /** What the volume was checked against. */
  role: Role;
  era: EraId;
  /** The label that role looks for. */
  expectedLabel: string;
  /** What a production image does with it (wipes and encrypts, or already did). */
  production?: string;
}

/** `use`: who holds the file, when the caller has already looked (a set is scanned once for all its files). */
export async function inspectVolume(path: string, expect: Expectation = defaultExpectation(), use?: UseReport): Promise<Inspection> {
  const base = {path, backingChain: [] as string[], inUse: false, warnings: [] as string[], role: expect.spec.role, era: expect.era.id, expectedLabel: expect.spec.label};
  const st = await lstat(path).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) {
    const why = st.code === 'ENOENT' ? 'does not exist' : st.code === 'EACCES' ? 'cannot be read (permission denied)' : st.message;
    return {...base, ...verdict('unreadable', `${path} ${why}`, st.code === 'EACCES' ? 'run as root (sudo)' : 'check the path')};
  }
  if (!st.isFile()) return {...base, ...verdict('unreadable', `${path} is not a regular file`, 'give the path of the volume file')};

  // Who holds the image (a /proc scan) and what it holds (a few reads) at the same time.
  const [held, read] = await Promise.all([use ?? imageUse(path), readContents(path)]);
  const inUse = {inUse: held.inUse, inUseDetail: held.detail, ...(held.inUse ? {holders: held.holders} : {})};
  if ('unreadable' in read) return {...base, ...(read.format ? {format: read.format} : {}), ...inUse, ...verdict('unreadable', read.unreadable, read.fix)};
  const {format, image, probe} = read;
  const result: Inspection = {
    ...base,
    format,
    virtualSize: image.virtualSize,
    allocatedSize: st.blocks * 512,
    backingChain: image.backingChain,
    filesystem: probe.type,
    label: probe.label,
    uuid: probe.uuid,
    ...(probe.sizeBytes !== undefined ? {filesystemSize: probe.sizeBytes} : {}),
    ...(probe.state ? {fsState: probe.state} : {}),
    ...inUse,
    ...judge(path, format, probe, expect, image.virtualSize),
  };
  if (result.accepted && expect.spec.role === 'config') Object.assign(result, await judgeConfigFiles(path));
  const production = productionNote(expect.spec, probe);
  if (production) result.production = production;
  if (image.corrupt) result.qcow2Corrupt = true;
  // What QEMU does before the guest sees anything decides first: a held image fails on its lock,
  // a corrupt one is refused read-write. The content's own verdict is kept beside it.
  const blocked = held.inUse ? inUseVerdict(path, held) : image.corrupt ? corruptVerdict(path) : undefined;
  if (blocked) Object.assign(result, {contentVerdict: result.verdict, ...blocked});
  if (held.inUse) result.warnings.push(`the image is in use (${held.detail}); what is shown may lag behind what the VM has written`);
  if (held.inUse && image.corrupt) result.warnings.push('qemu marked this image corrupt: it will refuse to open it for writing');
  if (image.dirty) result.warnings.push('the qcow2 dirty flag is set (it was not closed cleanly): run qemu-img check');
  if (probe.needsRecovery) result.warnings.push('its journal needs recovery (it was not unmounted cleanly): the guest replays it at mount; e2fsck -f before a grow does too');
  if (probe.needsFsck) result.warnings.push('the filesystem was not cleanly checked; the guest runs e2fsck at boot, and resize needs e2fsck -f first');
  if (result.backingChain.length) result.warnings.push(`it has a backing file (${result.backingChain.join(' -> ')}); the guest sees the combination`);
  return result;
}

type Contents =
  | {unreadable: string; fix?: string; format?: 'qcow2' | 'raw'}
  | {format: 'qcow2' | 'raw'; image: {virtualSize: number; backingChain: string[]; dirty: boolean; corrupt: boolean}; probe: Probe};

/** The format (from the magic, not the name), the image's header facts and what the guest would see in it. */
async function readContents(path: string): Promise<Contents> {
  const magic = Buffer.alloc(4);
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => e);
  if (fh instanceof Error) {
    const denied = fh.code === 'EACCES' || fh.code === 'EPERM';
    return denied
      ? {unreadable: `${path} cannot be read (permission denied)`, fix: 'run as root (sudo), or as the owner of the volume'}
      : {unreadable: `${path} cannot be opened (${fh.message})`, fix: 'check the path'};
  }
  await fh.read(magic, 0, 4, 0).finally(() => fh.close());
  const format = magic.toString('latin1') === 'QFI\xfb' ? 'qcow2' : 'raw';

  let image;
  try {
    image = await openImage(path, {format});
  } catch (error) {
    const message = error instanceof ImageError ? error.message : (error as Error).message;
    return {format, unreadable: `cannot read ${path}: ${message}`};
  }
  try {
    const probe = await probeVolume(image);
    const {dirty, corrupt} = image.info;
    return {format, probe, image: {virtualSize: image.virtualSize, backingChain: image.info.backingChain.map((b) => b.path), dirty: Boolean(dirty), corrupt: Boolean(corrupt)}};
  } catch (error) {
    return {format, unreadable: `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`};
  } finally {
    await image.close();
  }
}

/** Another process holds the image: QEMU takes a write lock on every volume and fails on it. */
function inUseVerdict(path: string, held: UseReport): Pick<VolumeVerdict, 'verdict' | 'accepted' | 'reason' | 'fix'> {
  return verdict(
    'in-use',
    `${path} is in use (${held.detail}): QEMU would fail to take its image lock and the VM would not start; nothing may repair or change it meanwhile`,
    'stop the VM (tdx-wizard stop) or the process that holds it, or disconnect the NBD device (tdx-wizard nbd list), then verify again',
  );
}

/** qemu set the corrupt bit after finding inconsistent metadata: it opens the image read-only at most. */
function corruptVerdict(path: string): Pick<VolumeVerdict, 'verdict' | 'accepted' | 'reason' | 'fix'> {
  return verdict(
    'corrupt-image',
    `qemu marked the qcow2 image corrupt (the corrupt bit in its header): QEMU refuses to open it read-write, so the VM would not start`,
    `tdx-wizard repair ${path} (qemu-img check -r all repairs the qcow2 metadata and clears the bit, then the filesystem is checked)`,
  );
}

function verdict(kind: Verdict, reason: string, fix?: string): Pick<VolumeVerdict, 'verdict' | 'accepted' | 'reason' | 'fix'> {
  return {verdict: kind, accepted: false, reason, ...(fix ? {fix} : {})};
}

/**
 * A config volume is only as good as its files: the guest's process-config.py refuses a bad seed,
 * hostname or network file and powers off. Read back without attaching (the seed is never shown).
 */
async function judgeConfigFiles(path: string): Promise<Partial<Inspection>> {
  const {readConfigVolume} = await import('../config-volume/readback.js');
  const back = await readConfigVolume(path).catch((error: Error) => ({problems: [`its files cannot be read: ${error.message}`], values: {} as {hostname?: string}}));
  if (!back.problems.length) return {reason: `ext4 labelled "tdx-config" holding a valid hostname (${back.values.hostname ?? '?'}), miner SS58, seed and network file: the guest will accept it`};
  return {
    verdict: 'invalid-config',
    accepted: false,
    reason: `labelled "tdx-config", but the guest refuses its files and powers off: ${back.problems.join('; ')}`,
    fix: `tdx-wizard config-volume ${path} --refresh --hostname ... --miner-ss58 ... --miner-seed-file ... --vm-ip ... --vm-gateway ...`,
  };
}
