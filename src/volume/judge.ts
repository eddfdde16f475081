// "Will the guest accept this file as its <role> volume?", for the era it belongs to. Everything
// era-specific comes from the volume's spec (src/era/eras.ts): its label, the filesystems its debug
// image mounts, how the launcher reads its format, and whether a production image encrypts it.
import type {Probe} from '../disk/probe.js';
import {formatFromName} from '../era/choose.js';
import {findEra, volumeSpec, DEFAULT_ERA, type ContainerFormat, type Era, type VolumeSpec} from '../era/eras.js';
import type {Verdict, VolumeVerdict} from './verdict.js';
import {formatBytes} from './size.js';

/** What a volume is checked against: a role of an era. */
export interface Expectation {
  era: Era;
  spec: VolumeSpec;
}

/** The document's era and its cache volume: what a volume is checked against when nothing is said. */
export function defaultExpectation(): Expectation {
  const era = findEra(DEFAULT_ERA)!;
  return {era, spec: volumeSpec(era, 'cache')!};
}

/** The label the old documentation printed (17 bytes), as mkfs cut it. */
const DOC_TYPO_LABEL = 'tdx-cache-storag';

type Judgement = Pick<VolumeVerdict, 'verdict' | 'accepted' | 'reason' | 'fix'>;

/** A filesystem this much smaller than its image (and by this share) is an unfinished grow, not mkfs's rounding. */
const UNFINISHED_GROW_BYTES = 16 * 2 ** 20;
const UNFINISHED_GROW_SHARE = 0.97;

export function judge(path: string, format: ContainerFormat, probe: Probe, {era, spec}: Expectation, virtualSize?: number): Judgement {
  const want = spec.label;
  const roleFlag = spec.role === 'cache' ? '' : ` --role ${spec.role}`;
  const named = formatFromName(path);
  if (named && named !== format) {
    return verdict(
      'wrong-format',
      `${path} is a ${format} image but its name says ${named}; launchers that pick the format from the extension would pass it wrongly and the guest would find no label`,
      format === 'raw' ? `qemu-img convert -f raw -O qcow2 ${path} ${path.replace(/\.qcow2$/i, '')}-converted.qcow2` : `mv ${path} ${path.replace(/\.(raw|img)$/i, '.qcow2')}`,
    );
  }
  if (spec.formatRule === 'qcow2-only' && format === 'raw') {
    return verdict(
      'wrong-format',
      `${path} is a raw file, but the ${era.id} launcher passes the ${spec.role} volume with format=qcow2: QEMU refuses to start`,
      `qemu-img convert -f raw -O qcow2 ${path} ${path.replace(/\.(raw|img)$/i, '')}.qcow2${spec.role === 'config' ? '' : ' (or use a launcher of E5 or later, which takes .raw files)'}`,
    );
  }
  if (spec.formatRule === 'by-extension' && !named && format === 'qcow2') {
    return verdict('wrong-format', `${path} is a qcow2 image without a .qcow2 name: the ${era.id} launcher would pass it as raw and the guest would find no label`, `mv ${path} ${path}.qcow2`);
  }
  switch (probe.type) {
    case 'ext4':
    case 'xfs': {
      const fs = probe.type;
      if (probe.label !== want) {
        if (probe.label === DOC_TYPO_LABEL || probe.label === 'tdx-cache-storage') {
          return verdict('wrong-label', `labelled "${probe.label}": the label from the old documentation (tdx-cache-storage, cut to 16 bytes by mkfs); the guest looks for "${want}" and powers off`, `tdx-wizard relabel ${path}${roleFlag}`);
        }
        return verdict('wrong-label', `${fs} labelled "${probe.label ?? ''}", but the guest looks for "${want}" and powers off without it`, fs === 'ext4' ? `tdx-wizard relabel ${path}${roleFlag}` : `xfs_admin -L ${want} ${path} (raw, not in use), or create a new volume`);
      }
      if (!spec.debugFs.includes(fs)) {
        return verdict(
          'wrong-filesystem',
          `${fs} labelled "${want}", but the ${era.id} debug guest mounts its ${spec.role} volume as ${spec.debugFs.join(' or ')}: the mount fails and the VM powers off${spec.production === 'guest' ? ' (a production guest would wipe and encrypt it instead)' : ''}`,
          `create a new ${spec.debugFs[0]} volume: tdx-wizard create <path>${roleFlag} --fs ${spec.debugFs[0]} --era ${era.id}`,
        );
      }
      const health = healthOf(path, probe, virtualSize);
      if (health) return health;
      return {...verdict('ready', `${fs} labelled "${want}": the ${era.id} guest will accept it as its ${spec.role} volume`), accepted: true};
    }
    case 'crypto_LUKS':
      if (probe.version === 2 && probe.label === want) {
        return {
          ...verdict('provisioned', `LUKS2 labelled "${want}": already encrypted by a production guest; it will unlock it at boot. Never reformat, relabel or grow it with host tools`),
          accepted: true,
        };
      }
      return verdict(
        'wrong-label',
        probe.version === 2 ? `LUKS2 labelled "${probe.label ?? ''}"; the guest looks for "${want}"` : 'LUKS1 has no label; the guest cannot find it by label',
        probe.version === 2 ? `tdx-wizard relabel ${path}${roleFlag}` : undefined,
      );
    case 'empty':
      return verdict('empty', `the volume is empty (no filesystem): the guest finds no ${want} label and powers off`, `tdx-wizard format --yes ${path}${roleFlag}`);
    default:
      return verdict(
        'wrong-filesystem',
        `the volume holds ${probe.type === 'unknown' ? 'no filesystem the guest knows' : probe.type}${probe.label ? ` labelled "${probe.label}"` : ''}; the guest wants ${spec.debugFs.join(' or ')} labelled "${want}"`,
        `tdx-wizard format ${path}${roleFlag} (destroys what it holds), or create a new volume: tdx-wizard create <path>${roleFlag}`,
      );
  }
}

/**
 * What a production image does to this volume: any non-LUKS cache or storage volume is wiped and
 * encrypted at its first boot, so what the host put on it is lost (its label is all that counts).
 */
export function productionNote(spec: VolumeSpec, probe: Probe): string | undefined {
  if (spec.production !== 'guest') return undefined;
  if (probe.type === 'crypto_LUKS') return `provisioned by a production guest: its content is the guest's (encrypted); host tools must not touch it`;
  return `a production guest wipes this volume at its first boot and encrypts it (LUKS2, label "${spec.label}", ${spec.guestFs ?? 'ext4'} inside): anything stored on it now is destroyed`;
}

/** What the ext superblock says against handing the volume to a guest: recorded errors, or a grow left half-done. */
function healthOf(path: string, probe: Probe, virtualSize: number | undefined): Judgement | undefined {
  if (probe.type !== 'ext4') return undefined;
  if (probe.state === 'errors' || (probe.errorCount ?? 0) > 0) {
    const last = probe.lastError ? `; the last in ${probe.lastError.func || 'the kernel'}${probe.lastError.line ? ` line ${probe.lastError.line}` : ''} at ${new Date(probe.lastError.time * 1000).toISOString()}` : '';
    const count = probe.errorCount ? `${probe.errorCount} error${probe.errorCount === 1 ? '' : 's'} recorded${last}` : 'its state is "with errors"';
    return verdict(
      'fs-errors',
      `the ext4 superblock says the filesystem has errors (${count}): the guest's mount may fail or turn read-only, and nothing should be written to it before e2fsck -f`,
      `tdx-wizard repair ${path} (e2fsck -f -y with nothing using it; it may drop files it cannot repair, so it asks for the file name)`,
    );
  }
  const fsSize = probe.sizeBytes;
  if (virtualSize !== undefined && fsSize !== undefined && virtualSize - fsSize > UNFINISHED_GROW_BYTES && fsSize < virtualSize * UNFINISHED_GROW_SHARE) {
    return verdict(
      'grow-unfinished',
      `its filesystem fills ${formatBytes(fsSize)} of the ${formatBytes(virtualSize)} image: a grow stopped after the image was grown, and the guest would see only ${formatBytes(fsSize)}`,
      `tdx-wizard resize ${path} ${virtualSize} (finishes the grow: e2fsck -f, then resize2fs)`,
    );
  }
  return undefined;
}

function verdict(kind: Verdict, reason: string, fix?: string): Judgement {
  return {verdict: kind, accepted: false, reason, ...(fix ? {fix} : {})};
}
