// The last step of every creation: prove the result is what was asked for, by evidence:
// qemu-img's own view of the container, and the filesystem (type, label, size) read straight from
// the qcow2 or raw file.
import {StepError} from '../errors.js';
import {openImage} from '../disk/qcow2.js';
import {probeVolume} from '../disk/probe.js';
import type {Runner} from '../runner/runner.js';
import {formatBytes} from './size.js';

export interface QemuImgInfo {
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
  'backing-filename'?: string;
  encrypted?: boolean;
  'dirty-flag'?: boolean;
  'format-specific'?: {data?: {corrupt?: boolean}};
}

export async function qemuImgInfo(runner: Runner, path: string, options: {format?: string; shared?: boolean} = {}): Promise<QemuImgInfo> {
  const args = ['info', ...(options.shared ? ['-U'] : []), ...(options.format ? ['-f', options.format] : []), '--output=json', '--', path];
  const result = await runner.run({cmd: 'qemu-img', args, title: `Read ${path.split('/').pop()} with qemu-img info`, capture: true});
  return JSON.parse(result.stdout) as QemuImgInfo;
}

export interface CreatedWant {
  sizeBytes: number;
  label: string;
  format: 'qcow2' | 'raw';
  fs: 'ext4' | 'xfs';
}

export async function checkCreatedVolume(runner: Runner, path: string, want: CreatedWant): Promise<string> {
  const info = await qemuImgInfo(runner, path, {format: want.format});
  const problems: string[] = [];
  if (info.format !== want.format) problems.push(`format is ${info.format}, not ${want.format}`);
  if (info['virtual-size'] !== want.sizeBytes) problems.push(`virtual size is ${info['virtual-size']} bytes, not ${want.sizeBytes}`);
  if (info['backing-filename']) problems.push(`it has a backing file (${info['backing-filename']})`);
  if (info.encrypted) problems.push('it is encrypted');
  if (info['format-specific']?.data?.corrupt) problems.push('qemu marks it corrupt');

  const image = await openImage(path, {format: want.format});
  try {
    const probe = await probeVolume(image);
    if (probe.type !== want.fs) problems.push(`its filesystem is ${probe.type}, not ${want.fs}`);
    else if (probe.label !== want.label) problems.push(`its label is "${probe.label ?? ''}", not "${want.label}"`);
    // The filesystem spans the volume: a size cut (a wrong unit, a tool's rounding) would show here.
    else if (probe.sizeBytes !== undefined && (probe.sizeBytes > want.sizeBytes || probe.sizeBytes < want.sizeBytes - 2 ** 20)) {
      problems.push(`its filesystem is ${probe.sizeBytes} bytes, not the volume's ${want.sizeBytes}`);
    }
    if (problems.length) throw new StepError(`the new volume is not right: ${problems.join('; ')}`, 'verify');
    const onDisk = want.format === 'raw' ? 'allocated' : 'on disk';
    return `${want.format}, ${formatBytes(info['virtual-size'])} virtual, ${formatBytes(info['actual-size'] ?? 0)} ${onDisk}, ${want.fs} labelled "${probe.label}" (UUID ${probe.uuid ?? '?'})`;
  } finally {
    await image.close();
  }
}
