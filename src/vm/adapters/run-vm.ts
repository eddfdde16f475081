// E2: run-vm.sh (November 2025), run from its own directory (BIOS ../../firmware/TDVF.fd is relative
// to it). Config volume required, cache optional. The era's own run-vm.sh (a2ba679) starts QEMU
// without -name (later copies say process=td), so any live pid in the pid file counts, as for E1.
import {basename, dirname} from 'node:path';
import {configVolumeLauncher, networkArgs, volumeArgs} from './run-td.js';

export const runVm = configVolumeLauncher(
  'run-vm',
  undefined,
  (launcher, args) => ({cmd: `./${basename(launcher)}`, args, cwd: dirname(launcher), secrets: [], title: ''}),
  (fields, era) => {
    const {config, data} = volumeArgs(fields, era);
    const opt = (flag: string, value: string | number | undefined) => (value === undefined || value === '' ? [] : [flag, String(value)]);
    return [...opt('--image', fields.image), ...config, ...networkArgs(fields), ...data, ...opt('--ssh-port', fields.sshPort), ...opt('--vcpus', fields.vcpus), ...opt('--mem', fields.mem), ...fields.extra];
  },
);
