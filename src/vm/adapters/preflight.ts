// Host facts a config-volume launcher needs before it is run, each a refusal with its fix: the
// firmware it loads relative to where it runs, the boot image's name against its format where the
// launcher picks the format from the name, the TAP interface, python3.
import {existsSync, openSync, readSync, closeSync} from 'node:fs';
import {delimiter, join, resolve} from 'node:path';
import {formatFromName} from '../../era/choose.js';
import type {Era} from '../../era/eras.js';
import type {LaunchFields} from '../fields.js';

export type Refusal = {text: string; fix: string};

/** E3/E4 run-td and run-vm.sh pass `-bios ../../firmware/TDVF.fd` as is: QEMU reads it relative to the working directory. */
export function firmwareRefusal(dir: string): Refusal[] {
  const path = resolve(dir, '../../firmware/TDVF.fd');
  if (existsSync(path)) return [];
  return [{text: `the launcher loads its firmware from ../../firmware/TDVF.fd relative to ${dir}, and ${path} does not exist (QEMU would not start)`, fix: 'use the launcher inside its upstream checkout (host-tools/scripts/, with firmware/TDVF.fd two levels up), or put TDVF.fd there'}];
}

function isQcow2(path: string): boolean | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const magic = Buffer.alloc(4);
    readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from('QFI\xfb', 'latin1'));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** From E5 the boot image's format comes from its name too: a qcow2 named .img boots as raw garbage. */
export function imageRefusal(fields: LaunchFields, era: Era): Refusal[] {
  const image = fields.image;
  if (!image || !era.volumes.some((v) => v.formatRule === 'by-extension')) return [];
  const qcow2 = isQcow2(image);
  if (qcow2 === undefined) return [];
  const named = formatFromName(image) === 'qcow2';
  if (qcow2 && !named) return [{text: `the guest image ${image} is qcow2 but not named .qcow2: the ${era.id} launcher would pass it as raw and the VM would not boot`, fix: `rename it: mv ${image} ${image.replace(/\.(raw|img)$/i, '')}.qcow2`}];
  if (!qcow2 && named) return [{text: `the guest image ${image} is named .qcow2 but is not qcow2: QEMU would refuse it`, fix: 'give the guest image as downloaded (qemu-img info shows its format)'}];
  return [];
}

/** A TAP network needs its interface (upstream's setup-bridge.sh makes vmtap0 on br0). */
export function tapRefusal(fields: LaunchFields, sysRoot: string): Refusal[] {
  if (fields.networkType !== 'tap' || !fields.netIface || existsSync(join(sysRoot, 'class/net', fields.netIface))) return [];
  return [{text: `there is no network interface ${fields.netIface}: QEMU would make a TAP attached to nothing and the VM would have no network`, fix: 'run upstream\'s setup-bridge.sh from host-tools/scripts (it makes br0 and vmtap0, with NAT), or use --network-type user'}];
}

export function toolRefusal(tool: string, pkg: string, path = process.env.PATH ?? ''): Refusal[] {
  if (path.split(delimiter).some((dir) => dir && existsSync(join(dir, tool)))) return [];
  return [{text: `${tool} is not on the PATH: the launcher is a ${tool} program`, fix: `apt-get install ${pkg}`}];
}
