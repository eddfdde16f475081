// The files of a config volume, byte for byte as upstream's create-config.sh writes them: `echo`
// ends each value with a newline, the netplan file is its heredoc exactly (the initramfs reads it
// line by line with awk, so the layout matters, not only the YAML), and the newest guests' Docker
// Hub files are written with printf '%s' (no newline).
import type {ConfigValues} from './values.js';

export interface ConfigFile {
  name: string;
  mode: number;
  /** Secret files are never shown; the seed and the token. */
  secret: boolean;
  content: string;
}

export function netplan(vmIp: string, gateway: string, dns: string): string {
  return `network:
  version: 2
  ethernets:
    any-ethernet:
      match:
        name: "en*"
      addresses:
        - ${vmIp}/24
      routes:
        - to: default
          via: ${gateway}
      nameservers:
        addresses:
          - ${dns}
`;
}

export function renderConfigFiles(values: ConfigValues): ConfigFile[] {
  const files: ConfigFile[] = [
    {name: 'hostname', mode: 0o644, secret: false, content: `${values.hostname}\n`},
    {name: 'miner-ss58', mode: 0o600, secret: false, content: `${values.minerSs58}\n`},
    {name: 'miner-seed', mode: 0o600, secret: true, content: `${values.minerSeed}\n`},
    {name: 'network-config.yaml', mode: 0o644, secret: false, content: netplan(values.vmIp, values.vmGateway, values.vmDns)},
  ];
  if (values.dockerHub) {
    files.push({name: 'docker-hub-username', mode: 0o600, secret: false, content: values.dockerHub.username});
    files.push({name: 'docker-hub-token', mode: 0o600, secret: true, content: values.dockerHub.token});
  }
  return files;
}
