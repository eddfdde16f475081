import {describe, expect, it} from 'vitest';
import {DEFAULT_ERA, ERAS, defaultFileName, findEra, launcherFormat, volumeSpec} from '../../src/era/eras.js';
import {chooseEra, chooseFormat, chooseFs, chooseRole} from '../../src/era/choose.js';
import {UsageError} from '../../src/errors.js';

const e = (id: string) => findEra(id)!;

describe('the era table', () => {
  it('the document era (E4) needs tdx-cache 5000G, storage 500G and tdx-config 10M, all qcow2', () => {
    const era = e(DEFAULT_ERA);
    expect(era.id).toBe('E4');
    expect(era.volumes.map((v) => [v.role, v.label, v.defaultSize, v.newFormat])).toEqual([
      ['cache', 'tdx-cache', '5000G', 'qcow2'],
      ['storage', 'storage', '500G', 'qcow2'],
      ['config', 'tdx-config', '10M', 'qcow2'],
    ]);
  });
  it('names files as upstream does: raw data volumes from E5 on, the config volume always qcow2', () => {
    expect(e('E5').volumes.map((v) => defaultFileName(v, 'miner1'))).toEqual(['cache-miner1.raw', 'storage-miner1.raw', 'config-miner1.qcow2']);
    expect(e('E3b').volumes.map((v) => defaultFileName(v, 'm'))).toEqual(['cache-m.qcow2', 'containerd-m.qcow2', 'config-m.qcow2']);
    expect(e('E1').volumes.map((v) => v.role)).toEqual(['cache']);
  });
  it('knows how each launcher reads a format: forced qcow2 before E5, by extension after', () => {
    expect(launcherFormat(volumeSpec(e('E4'), 'cache')!, 'x.raw')).toBe('qcow2');
    expect(launcherFormat(volumeSpec(e('E6'), 'cache')!, 'x.raw')).toBe('raw');
    expect(launcherFormat(volumeSpec(e('E6'), 'cache')!, 'x.QCOW2')).toBe('qcow2');
    expect(launcherFormat(volumeSpec(e('E6'), 'config')!, 'x.img')).toBe('qcow2');
  });
  it('every era has signatures and unique ids', () => {
    expect(new Set(ERAS.map((x) => x.id)).size).toBe(ERAS.length);
    for (const era of ERAS) expect(era.signatures.length).toBeGreaterThan(0);
  });
});

describe('choosing era, role, format and filesystem', () => {
  it('--era wins over the remembered era, which wins over the default', () => {
    expect(chooseEra('e6', 'E2').id).toBe('E6');
    expect(chooseEra(undefined, 'E2').id).toBe('E2');
    expect(chooseEra(undefined, undefined).id).toBe('E4');
    expect(() => chooseEra('E9')).toThrow(UsageError);
  });
  it('refuses a role the era has not got, naming the eras that have it', () => {
    expect(() => chooseRole(e('E4'), 'containerd')).toThrow(/no containerd volume/);
    try {
      chooseRole(e('E4'), 'containerd');
    } catch (error) {
      expect((error as UsageError).fix).toMatch(/--era E3b/);
    }
    expect(() => chooseRole(e('E1'), 'storage')).toThrow(/no storage volume/);
  });
  it('refuses a qcow2 named .raw/.img and a raw file named .qcow2', () => {
    const cache6 = volumeSpec(e('E6'), 'cache')!;
    expect(() => chooseFormat(cache6, '/v/cache.raw', 'qcow2')).toThrow(/named as a raw file but would be qcow2/);
    expect(() => chooseFormat(cache6, '/v/cache.img', 'qcow2')).toThrow(UsageError);
    expect(() => chooseFormat(cache6, '/v/cache.qcow2', 'raw')).toThrow(/named as a qcow2 file but would be raw/);
    expect(chooseFormat(cache6, '/v/cache.raw')).toBe('raw');
    expect(chooseFormat(cache6, '/v/cache.qcow2')).toBe('qcow2');
    expect(() => chooseFormat(volumeSpec(e('E4'), 'cache')!, '/v/cache.raw')).toThrow(/format=qcow2/);
    expect(() => chooseFormat(volumeSpec(e('E6'), 'config')!, '/v/config.raw')).toThrow(/config volume must be qcow2/);
  });
  it('refuses an XFS label over 12 bytes, containerd on XFS, and a filesystem the era cannot mount', () => {
    const e3b = e('E3b');
    expect(() => chooseFs(e3b, volumeSpec(e3b, 'containerd')!, 'containerd-cache', 'xfs')).toThrow(/containerd volume cannot be XFS/);
    expect(() => chooseFs(e('E4'), volumeSpec(e('E4'), 'storage')!, 'storage', 'xfs')).toThrow(/mounts its storage volume as ext4/);
    expect(() => chooseFs(e('E5x'), volumeSpec(e('E5x'), 'storage')!, 'storage', 'ext4')).toThrow(/as xfs/);
    expect(chooseFs(e('E6'), volumeSpec(e('E6'), 'cache')!, 'tdx-cache', 'ext4')).toBe('ext4');
    expect(chooseFs(e('E6'), volumeSpec(e('E6'), 'cache')!, 'tdx-cache')).toBe('xfs');
  });
});
