// Which containerd configuration this node runs with, and where a change to it must be made.
// containerd on its own reads /etc/containerd/config.toml. k3s and rke2 run a containerd of their
// own with <data-dir>/agent/etc/containerd/config.toml, which they write anew at every start from
// config.toml.tmpl beside it (config-v3.toml.tmpl for containerd 2's version 3), so a line added to
// config.toml is gone at the next restart.
import {existsSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {hostRoots, type Roots} from '../host/roots.js';

export interface ContainerdConfig {
  /** The file containerd reads: what the checks judge. */
  path: string;
  /** Set when k3s or rke2 writes `path` from a template. */
  distro?: 'k3s' | 'rke2';
}

const DISTRO_CONFIG = /[\\/]rancher[\\/](k3s|rke2)[\\/]agent[\\/]etc[\\/]containerd[\\/]config\.toml$/;

/** The configuration given, else the first of containerd's own, k3s's and rke2's that exists (containerd's when none does). */
export function locateContainerdConfig(given?: string, roots: Roots = hostRoots()): ContainerdConfig {
  const own = join(roots.etc, 'containerd/config.toml');
  const path = given ?? [own, ...(['k3s', 'rke2'] as const).map((d) => join(roots.var, `lib/rancher/${d}/agent/etc/containerd/config.toml`))].find((p) => existsSync(p)) ?? own;
  const distro = DISTRO_CONFIG.exec(path)?.[1] as ContainerdConfig['distro'];
  return distro ? {path, distro} : {path};
}

/** Where to make a change, said before the lines, and how to have it read. */
export function changeAt(config: ContainerdConfig, version: number): {file: string; preface: string; restart: string} {
  if (!config.distro) return {file: config.path, preface: '', restart: 'then: systemctl restart containerd'};
  const template = join(dirname(config.path), version === 3 ? 'config-v3.toml.tmpl' : 'config.toml.tmpl');
  return {
    file: template,
    preface: `${config.distro} writes ${config.path} anew at every start: make the change in ${template} (if it does not exist, copy ${basename(config.path)} to it first)\n`,
    restart: config.distro === 'k3s' ? 'then: systemctl restart k3s (k3s-agent on an agent node)' : 'then: systemctl restart rke2-server (rke2-agent on an agent node)',
  };
}
