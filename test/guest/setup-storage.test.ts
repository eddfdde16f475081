// A production guest's initramfs (setup_storage, E4/E5/E6) finds its volumes with
// `blkid -l -o device -t LABEL=<label>`, then the `cryptsetup luksDump` Label fallback. Its own
// detect_storage_device and detect_cache_device run here, cut verbatim out of the file.
import {readFileSync} from 'node:fs';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {attachAll, detachAll, productionLookup, upstreamFile, type AttachedDevice} from '../helpers/guest.js';
import {SETUP_STORAGE, shellFunction} from '../helpers/guest-eras.js';
import {plainVolume, wizardVolume} from '../helpers/guest-volumes.js';
import {tempDir} from '../helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let cache: string;
let storage: string;
let luksStorage: string;
let xfsStorage: string;
beforeAll(() => {
  tmp = tempDir('tdxw-guest-luks-');
  cache = wizardVolume(tmp.path, 'cache.qcow2');
  storage = plainVolume(tmp.path, 'storage.raw', {fs: 'ext4', label: 'storage', format: 'raw'});
  luksStorage = plainVolume(tmp.path, 'storage-luks.raw', {fs: 'luks2', label: 'storage', format: 'raw'});
  xfsStorage = plainVolume(tmp.path, 'storage-xfs.raw', {fs: 'xfs', label: 'storage', format: 'raw'});
});
afterAll(() => tmp.remove());

async function withDevices<T>(images: string[], fn: (devices: AttachedDevice[]) => Promise<T>): Promise<T> {
  const devices = await attachAll(images.map((path) => ({path, format: path.endsWith('.qcow2') ? ('qcow2' as const) : ('raw' as const)})));
  try {
    return await fn(devices);
  } finally {
    await detachAll(devices);
  }
}

describe.each(['E4', 'E5', 'E6'] as const)('setup_storage lookup, %s', (era) => {
  it('uses the lookup lines the brief quotes (a change upstream shows here)', () => {
    const text = readFileSync(upstreamFile(era, SETUP_STORAGE[era]!), 'utf8');
    expect(shellFunction(text, 'detect_storage_device')).toContain('STORAGE_DEVICE=$(blkid -l -o device -t LABEL="$STORAGE_LABEL" 2>/dev/null)');
    expect(shellFunction(text, 'detect_cache_device')).toContain('CACHE_DEVICE=$(blkid -l -o device -t LABEL="$CACHE_LABEL" 2>/dev/null)');
    expect(text).toMatch(/cryptsetup luksDump "\$dev" 2>\/dev\/null\s*(\\\s*)?\| grep -E "\^Label:"/);
  });

  it('finds the wizard cache volume and an ext4, an XFS and a LUKS2 storage volume, each the attached device', async () => {
    for (const s of [storage, xfsStorage, luksStorage]) {
      await withDevices([s, cache], async ([sd, cd]) => {
        const r = await productionLookup(era, [sd!.device, cd!.device]);
        expect(r.ok).toBe(true);
        expect({storage: r.storage, cache: r.cache}).toEqual({storage: sd!.device, cache: cd!.device});
        // blkid reports a LUKS2 header's label as LABEL itself: the luksDump fallback is never reached.
        expect(r.lines.some((l) => l.startsWith('Begin: Filesystem label not found'))).toBe(false);
      });
    }
  });

  it('fails a missing storage volume with its own lines', async () => {
    const r = await withDevices([cache], ([cd]) => productionLookup(era, [cd!.device]));
    expect(r.ok).toBe(false);
    expect(r.lines).toContain("Failure: No device found with label 'storage'");
    expect(r.lines).toContain('Failure: Ensure the storage volume was created with create-cache.sh script');
  });

  it('fails a cache volume with a wrong label (the wizard with --label tdx-cache-x)', async () => {
    const wrong = wizardVolume(tmp.path, `wrong-${era}.qcow2`, ['--label', 'tdx-cache-x']);
    const r = await withDevices([storage, wrong], (ds) => productionLookup(era, ds.map((d) => d.device)));
    expect(r.ok).toBe(false);
    expect(r.storage).not.toBe('');
    expect(r.lines).toContain("Failure: No device found with label 'tdx-cache' - cache is required for VM");
  });
});
