// Filesystem labels: ext4 keeps at most 16 bytes and the tools cut longer ones with only a
// warning (possibly inside a UTF-8 character), so the wizard refuses them before any tool runs.
import {UsageError} from '../errors.js';

export const CACHE_LABEL = 'tdx-cache';
export const EXT4_LABEL_MAX = 16;

/**
 * How each filesystem's label is rewritten in place, the data kept: the command, and the most bytes
 * it keeps (each tool cuts a longer label with only a warning). Keyed by blkid's TYPE.
 */
export interface LabelWriter {
  /** What the operator calls it. */
  name: string;
  cmd: string;
  args: (device: string, label: string) => string[];
  max: number;
}

const E2LABEL: LabelWriter = {name: 'ext4', cmd: 'e2label', args: (device, label) => [device, label], max: EXT4_LABEL_MAX};
export const LABEL_WRITERS: Readonly<Record<string, LabelWriter>> = {
  ext4: E2LABEL,
  ext3: E2LABEL,
  ext2: E2LABEL,
  xfs: {name: 'XFS', cmd: 'xfs_admin', args: (device, label) => ['-L', label, device], max: 12},
  // LUKS2 only: a LUKS1 header has no label (refused before this is reached).
  crypto_LUKS: {name: 'LUKS2', cmd: 'cryptsetup', args: (device, label) => ['config', '--label', label, '--', device], max: 48},
};
export const labelWriter = (filesystem?: string): LabelWriter | undefined => (filesystem ? LABEL_WRITERS[filesystem] : undefined);
/** "ext4, XFS and LUKS2": the filesystems relabel writes. */
export const LABELLED = [...new Set(Object.values(LABEL_WRITERS).map((w) => w.name))].join(', ').replace(/, ([^,]+)$/, ' and $1');

/** The label fits the filesystem it goes on (checkLabel has already held it to ext4's 16 bytes). */
export function checkLabelFits(label: string, writer: LabelWriter, want: {label: string}): void {
  const bytes = Buffer.byteLength(label, 'utf8');
  if (bytes > writer.max) throw tooLong(label, bytes, {fs: writer.name, max: writer.max, tool: writer.cmd}, want);
}

/** A label the filesystem would cut: what the tool would leave of it, and the label to use instead. */
function tooLong(label: string, bytes: number, limit: {fs: string; max: number; tool: string}, want: {label: string}): UsageError {
  const cut = Buffer.from(label, 'utf8').subarray(0, limit.max).toString('utf8').replace(/\uFFFD$/, '');
  return new UsageError(
    `the label "${label}" is ${bytes} bytes; ${limit.fs} keeps at most ${limit.max} and ${limit.tool} would silently cut it to "${cut}"`,
    label.startsWith(want.label) ? `the guest looks for "${want.label}": pass --label ${want.label}` : `choose a label of at most ${limit.max} bytes`,
  );
}

export interface LabelCheck {
  label: string;
  warnings: string[];
}

/** `want` is the volume's role and the label its guest looks for (the cache volume's by default). */
export function checkLabel(label: string, want: {role: string; label: string} = {role: 'cache', label: CACHE_LABEL}): LabelCheck {
  const bytes = Buffer.byteLength(label, 'utf8');
  if (bytes === 0) throw new UsageError('the label is empty', `pass --label ${want.label}`);
  if (/[\x00-\x1f\x7f]/.test(label)) throw new UsageError('the label contains a control character (newline, tab, ...)', 'use letters, digits, dot, dash and underscore');
  if (label.includes('\uFFFD')) throw new UsageError('the label is not valid UTF-8', 'use letters, digits, dot, dash and underscore');
  if (bytes > EXT4_LABEL_MAX) throw tooLong(label, bytes, {fs: 'ext4', max: EXT4_LABEL_MAX, tool: 'mkfs'}, want);
  const warnings: string[] = [];
  if (!/^[A-Za-z0-9._-]+$/.test(label)) warnings.push(`the label "${label}" has characters other than letters, digits, ".", "_" and "-"; blkid shows them escaped and scripts may mangle them`);
  if (label !== want.label) warnings.push(`the guest only accepts a ${want.role} volume labelled "${want.label}"; a volume labelled "${label}" makes the VM power off at boot`);
  return {label, warnings};
}
