// The answer to "will the VM accept this volume?", shared by inspect, verify, launch and the wizard.

export type Verdict =
  | 'ready' // ext4 labelled tdx-cache
  | 'provisioned' // LUKS2 labelled tdx-cache: set up by a production guest; never reformat or relabel with ext4 tools
  | 'wrong-label'
  | 'wrong-filesystem'
  | 'empty'
  | 'wrong-format' // a raw file named .qcow2, or a qcow2 named .raw
  | 'invalid-config' // a config volume whose files the guest refuses (seed, hostname, network)
  | 'in-use' // another process holds the image open: QEMU would fail on its image lock
  | 'corrupt-image' // qemu marked the qcow2 corrupt (incompatible feature bit 1): it refuses to open it read-write
  | 'fs-errors' // the ext superblock says the filesystem has errors: the guest's mount may fail or turn read-only
  | 'grow-unfinished' // the filesystem is much smaller than its image: a grow stopped after qemu-img resize
  | 'unreadable';

export interface VolumeVerdict {
  path: string;
  verdict: Verdict;
  /** True when the guest will accept the volume as its cache. */
  accepted: boolean;
  /** One sentence: why. */
  reason: string;
  /** The command that fixes it, when there is one. */
  fix?: string;
}

/** Verdicts QEMU itself acts on before the guest runs: it fails to start instead of the guest powering off. */
export const QEMU_REFUSES: readonly Verdict[] = ['in-use', 'corrupt-image'];

/** The verdicts `tdx-wizard repair` mends: the wizard offers it wherever one is found. */
export const DAMAGED: readonly Verdict[] = ['fs-errors', 'corrupt-image'];

/** Damaged, also when being in use decided the verdict (the content's own verdict says it). */
export function isDamaged(v: {verdict: Verdict; contentVerdict?: Verdict}): boolean {
  return DAMAGED.includes(v.verdict) || (v.contentVerdict !== undefined && DAMAGED.includes(v.contentVerdict));
}
