// Which real upstream guest files run for an era and a volume role, in the order the guest's
// systemd runs them. The files are verbatim copies in test/fixtures/vendor/upstream (README there names
// repository and commit of each); TDX_UPSTREAM_DIR points the harness at another copy.
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import type {EraId, Role} from '../../src/era/eras.js';
import type {GuestStep} from './guest-sandbox.js';

export function upstreamDir(): string {
  return resolve(process.env.TDX_UPSTREAM_DIR || 'test/fixtures/vendor/upstream');
}

/** The copy of each era's files (eras without guest files here are missing: E3a). */
export const ERA_DIR: Partial<Record<EraId, string>> = {
  E1: '2025-11_run-tdx_chutesai-94a2200',
  E2: '2025-11_run-vm_chutesai-a2ba679',
  E3b: '2026-01_containerd_chutesai-e9c8032',
  E4: '2026-02_doc-era_kierr-5255961',
  E5: '2026-02_raw_kierr-c5a0b61',
  E5x: '2026-xfs-strict_pamanseau-192531f6',
  E6: 'newest_rayonlabs-3a1a37cd',
};

export function upstreamFile(era: EraId, rel: string): string {
  const dir = ERA_DIR[era];
  if (!dir) throw new Error(`no upstream guest files for era ${era} in ${upstreamDir()}`);
  const path = join(upstreamDir(), dir, rel);
  if (!existsSync(path)) throw new Error(`upstream file missing: ${path}`);
  return path;
}

const K3S = 'ansible/k3s/roles';
const CV = `${K3S}/cache-volume`;
const CONF = `${K3S}/config/files`;

export interface GuestPlan {
  steps: GuestStep[];
  /** What the plan leaves out, for the reader of a result. */
  note?: string;
}

/** The config role: validator, mount, config-manager (process-config.py), as config-*.service orders them. */
function configPlan(era: EraId, debug: boolean): GuestPlan {
  // E3b's copy has no var-config.mount: the unit is byte-identical in E2 (a2ba679) and E4 (52559611), so E2's stands in.
  const unitEra: EraId = era === 'E3b' ? 'E2' : era;
  return {
    steps: [
      {kind: 'script', path: upstreamFile(era, `${CONF}/verify-config-volume.sh`)},
      {kind: 'mount', unit: upstreamFile(unitEra, `${CONF}/var-config.mount`), debug},
      {kind: 'script', path: upstreamFile(era, `${CONF}/process-config.py`), interpreter: '/usr/bin/python3'},
    ],
    note: era === 'E3b' ? "var-config.mount from E2's copy (identical in E2 and E4)" : undefined,
  };
}

export function guestPlan(era: EraId, role: Role, debug = true): GuestPlan {
  const env = {DEBUG_MODE: String(debug)};
  const script = (rel: string): GuestStep => ({kind: 'script', path: upstreamFile(era, rel), env});
  const mount = (rel: string): GuestStep => ({kind: 'mount', unit: upstreamFile(era, rel), debug});
  const mountOnly = 'only the mount unit: this copy has no verify script for the era';
  if (role === 'config') {
    if (era !== 'E2' && era !== 'E3b' && era !== 'E4') throw new Error(`no config-volume guest files for era ${era} in ${upstreamDir()}`);
    return configPlan(era, debug);
  }
  if (role === 'containerd') {
    if (era !== 'E3b') throw new Error(`era ${era} has no containerd volume`);
    return {steps: [script(`${CV}/files/init-containerd-cache.sh`), mount(`${CV}/templates/var-lib-rancher-k3s-agent-containerd.mount.j2`)]};
  }
  const guest = era === 'E6' ? 'ansible/guest/roles/cache-volume' : CV;
  switch (era) {
    case 'E1':
    case 'E2':
    case 'E3b':
      // verify-cache-volume.service runs before var-snap.mount (Before=/Requires=).
      if (role !== 'cache') throw new Error(`era ${era} has no ${role} volume`);
      return {steps: [script(`${CV}/files/verify-cache-volume.sh`), mount(`${CV}/files/var-snap.mount`)]};
    case 'E4':
    case 'E5':
      // From E4 the mount comes first; verify-*.service runs after it.
      return role === 'cache'
        ? {steps: [mount(`${CV}/templates/var-snap.mount.j2`), script(`${CV}/files/verify-cache-volume.sh`)]}
        : {steps: [mount(`${CV}/templates/cache-storage.mount.j2`), script(`${CV}/files/verify-storage.sh`)]};
    case 'E5x':
    case 'E6':
      return {steps: [mount(`${guest}/templates/${role === 'cache' ? 'var-snap' : 'cache-storage'}.mount.j2`)], note: mountOnly};
    default:
      throw new Error(`no upstream guest files for era ${era} in ${upstreamDir()}`);
  }
}

export const SETUP_STORAGE: Partial<Record<EraId, string>> = {
  E4: `${K3S}/luks/files/initramfs/setup_storage`,
  E5: `${K3S}/luks/files/initramfs/setup_storage`,
  E6: 'ansible/guest/roles/prepare-boot-image/files/initramfs/setup_storage',
};

/** The text of a shell function `name() {` … `}` (a `}` alone at the line start ends it), verbatim. */
export function shellFunction(text: string, name: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${name}() {`));
  const end = lines.findIndex((l, i) => i > start && l === '}');
  if (start < 0 || end < 0) throw new Error(`function ${name} not found: upstream setup_storage changed`);
  return lines.slice(start, end + 1).join('\n');
}

/**
 * A script that runs setup_storage's own device lookup: its label settings and its
 * detect_storage_device and detect_cache_device, copied verbatim out of the real file, called in
 * main()'s order. The rest of setup_storage (the key API, luksFormat, mkfs) is left out: it needs
 * the network and would write. initramfs-tools' log_*_msg are stand-ins printing as they do.
 */
export function lookupScript(era: EraId): string {
  const rel = SETUP_STORAGE[era];
  if (!rel) throw new Error(`era ${era} has no setup_storage in ${upstreamDir()}`);
  const text = readFileSync(upstreamFile(era, rel), 'utf8');
  const labels = text.split('\n').filter((l) => /^(STORAGE|CACHE)_LABEL="\$\{\w+:-[\w-]+\}"$/.test(l));
  if (labels.length !== 2) throw new Error(`setup_storage (${era}): label lines changed`);
  const body = [
    '#!/bin/sh',
    '# Stand-ins for initramfs-tools /scripts/functions',
    'log_begin_msg() { echo "Begin: $* ..."; }',
    'log_success_msg() { echo "Success: $*"; }',
    'log_failure_msg() { echo "Failure: $*"; }',
    ...labels,
    shellFunction(text, 'detect_storage_device'),
    shellFunction(text, 'detect_cache_device'),
    '# main(): each failure is handle_failure (poweroff -f) in the real script',
    'detect_storage_device || { echo "[harness] handle_failure: No storage device found"; exit 1; }',
    'detect_cache_device || { echo "[harness] handle_failure: Cache device not found (required for VM)"; exit 1; }',
    'echo "[harness] storage=$STORAGE_DEVICE cache=$CACHE_DEVICE"',
  ].join('\n');
  const path = join(mkdtempSync(join(tmpdir(), 'tdxw-lookup-')), 'setup_storage-lookup');
  writeFileSync(path, `${body}\n`, {mode: 0o755});
  return path;
}
