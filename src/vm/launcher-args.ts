// run-tdx.sh's argument list from the launch fields (E1), in the order upstream's help lists them.
import type {LaunchFields} from './fields.js';

export function launcherArgs(f: LaunchFields): string[] {
  const args: string[] = ['--network-type', f.networkType];
  const add = (flag: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') args.push(flag, String(value));
  };
  if (f.networkType !== 'user') add('--net-iface', f.netIface);
  add('--vm-ip', f.vmIp);
  add('--vm-gateway', f.vmGateway);
  add('--vm-dns', f.vmDns);
  add('--ssh-port', f.sshPort);
  add('--hostname', f.hostname);
  add('--miner-ss58', f.minerSs58);
  add('--miner-seed', f.minerSeed);
  add('--cache-volume', f.cacheVolume);
  add('--image', f.image);
  add('--vcpus', f.vcpus);
  add('--mem', f.mem);
  return [...args, ...f.extra];
}
