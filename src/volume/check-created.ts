// The last step of every creation: prove the result is what was asked for, by evidence:
// qemu-img's own view of the container, and the filesystem read straight from the qcow2.
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

export async function checkCreatedVolume(runner: Runner, path: string, want: {sizeBytes: number; label: string}): Promise<string> {
  const info = await qemuImgInfo(runner, path, {format: 'qcow2'});
  const problems: string[] = [];
  if (info.format !== 'qcow2') problems.push(`format is ${info.format}, not qcow2`);
  if (info['virtual-size'] !== want.sizeBytes) problems.push(`virtual size is ${info['virtual-size']} bytes, not ${want.sizeBytes}`);
  if (info['backing-filename']) problems.push(`it has a backing file (${info['backing-filename']})`);
  if (info.encrypted) problems.push('it is encrypted');
  if (info['format-specific']?.data?.corrupt) problems.push('qemu marks it corrupt');

  const image = await openImage(path, {format: 'qcow2'});
  try {
    const probe = await probeVolume(image);
    if (probe.type !== 'ext4') problems.push(`its filesystem is ${probe.type}, not ext4`);
    else if (probe.label !== want.label) problems.push(`its label is "${probe.label ?? ''}", not "${want.label}"`);
    if (problems.length) throw new StepError(`the new volume is not right: ${problems.join('; ')}`, 'verify');
    return `qcow2, ${formatBytes(info['virtual-size'])} virtual, ${formatBytes(info['actual-size'] ?? 0)} on disk, ext4 labelled "${probe.label}" (UUID ${probe.uuid ?? '?'})`;
  } finally {
    await image.close();
  }
}
