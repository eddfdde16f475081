// What `chutes-cvm guest launch` (E6) needs of the guest image set it is given (--base-image, a
// directory), read before it runs (upstream-eras.md §2.5, §5): a manifest.json with a version and
// the four artifact roles, exactly one <name>.qcow2, and its direct-boot sidecars
// <name>.vmlinuz/.initrd/.cmdline, each the size the manifest says. chutes-cvm checks the same at
// its Steps 1 and 4b and stops there, after it has already refreshed the config volume.
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';

export const ROLES = ['qcow2', 'vmlinuz', 'initrd', 'cmdline'] as const;
/** Where `chutes-cvm image download` puts the production set, and what guest launch uses without --base-image. */
export const DEFAULT_IMAGE_SET = '/var/lib/chutes/base-images/tdx-guest';

export interface ImageSetProblem {
  text: string;
  fix: string;
}

const DOWNLOAD = 'chutes-cvm image download (or image download --debug), then launch with --image /var/lib/chutes/base-images/tdx-guest[-debug]';

export function imageSetProblems(dir: string): ImageSetProblem[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    return [{text: `the guest image set ${dir} does not exist (chutes-cvm takes the directory of an image set: <name>.qcow2, .vmlinuz, .initrd, .cmdline and manifest.json)`, fix: DOWNLOAD}];
  }
  if (!st.isDirectory()) return [{text: `the guest image ${dir} is a file, but chutes-cvm takes the directory of an image set (<name>.qcow2 with .vmlinuz, .initrd, .cmdline and manifest.json)`, fix: `give the directory that holds it and its manifest: --image ${join(dir, '..')}, or ${DOWNLOAD}`}];
  const problems: ImageSetProblem[] = [];
  const files = readdirSync(dir);
  const disks = files.filter((f) => f.endsWith('.qcow2')).sort();
  if (disks.length !== 1) {
    problems.push({text: disks.length ? `${dir} holds ${disks.length} .qcow2 files (${disks.join(', ')}): chutes-cvm stops with "multiple *.qcow2 in image-set directory"` : `${dir} holds no <name>.qcow2: chutes-cvm stops with "no *.qcow2 in image-set directory"`, fix: DOWNLOAD});
  }
  let manifest: {version?: unknown; artifacts?: Record<string, {size?: unknown}>} | undefined;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch (error) {
    const absent = (error as NodeJS.ErrnoException).code === 'ENOENT';
    problems.push({text: absent ? `${dir} has no manifest.json: chutes-cvm refuses an image set it cannot verify ("manifest.json missing … the image set is incomplete")` : `${join(dir, 'manifest.json')} is not JSON: ${(error as Error).message}`, fix: DOWNLOAD});
  }
  const artifacts = manifest?.artifacts;
  if (manifest && (typeof artifacts !== 'object' || artifacts === null || ROLES.some((r) => !(r in artifacts)))) {
    problems.push({text: `${join(dir, 'manifest.json')} lacks artifact roles (it needs ${ROLES.join(', ')}): chutes-cvm stops with "manifest.json … is missing artifact roles"`, fix: DOWNLOAD});
  } else if (manifest && !manifest.version) {
    problems.push({text: `${join(dir, 'manifest.json')} has no version: chutes-cvm cannot ask whether this host can attest the image and refuses to launch (Step 1)`, fix: DOWNLOAD});
  }
  if (disks.length === 1) {
    const base = disks[0]!.slice(0, -'.qcow2'.length);
    for (const role of ROLES) {
      const path = join(dir, `${base}.${role}`);
      let size: number | undefined;
      try {
        size = statSync(path).size;
      } catch {
        problems.push({text: `${path} is missing: chutes-cvm boots the guest's kernel directly and needs ${base}.vmlinuz, .initrd and .cmdline beside ${base}.qcow2`, fix: DOWNLOAD});
        continue;
      }
      const expected = artifacts && typeof artifacts === 'object' ? artifacts[role]?.size : undefined;
      if (typeof expected === 'number' && expected !== size) {
        problems.push({text: `${path} is ${size} bytes, but manifest.json says ${expected}: chutes-cvm stops with "image set does not match its manifest"`, fix: DOWNLOAD});
      }
    }
  }
  return problems;
}
