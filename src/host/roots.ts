// Where the wizard reads the kernel's view of the host. Every file-system fact (sysfs, procfs, device
// nodes, /run, /etc, /var) is read below one of these roots, so tests can point them at fixture trees: the
// nbd module does not exist on the machines the tests run on.
import {join} from 'node:path';

export interface Roots {
  sys: string;
  proc: string;
  dev: string;
  run: string;
  etc: string;
  /** Where k3s and rke2 keep their data (lib/rancher/...). */
  var: string;
}

const ENV_OF: Record<keyof Roots, string> = {
  sys: 'TDX_WIZARD_SYS_ROOT',
  proc: 'TDX_WIZARD_PROC_ROOT',
  dev: 'TDX_WIZARD_DEV_ROOT',
  run: 'TDX_WIZARD_RUN_ROOT',
  etc: 'TDX_WIZARD_ETC_ROOT',
  var: 'TDX_WIZARD_VAR_ROOT',
};

const DEFAULTS: Roots = {sys: '/sys', proc: '/proc', dev: '/dev', run: '/run', etc: '/etc', var: '/var'};

/** The roots in effect: explicit overrides first, then the environment, then the real paths. */
export function hostRoots(overrides: Partial<Roots> = {}, env: NodeJS.ProcessEnv = process.env): Roots {
  const roots = {...DEFAULTS};
  for (const key of Object.keys(DEFAULTS) as Array<keyof Roots>) {
    roots[key] = overrides[key] ?? (env[ENV_OF[key]] || DEFAULTS[key]);
  }
  return roots;
}

/** `/dev/nbd0` on a real host, `<dev root>/nbd0` under a fixture tree. */
export function devPath(roots: Roots, name: string): string {
  return join(roots.dev, name);
}
