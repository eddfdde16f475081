// Progress read from the tools' own output, as a fraction 0..1.

export type ProgressKind = 'qemu-img' | 'mke2fs' | 'resize2fs';

const QEMU_IMG = /\((\d{1,3}(?:\.\d+)?)\/100%\)/;
const MKE2FS = /^(Allocating group tables|Writing inode tables|Creating journal[^:]*|Writing superblocks and filesystem accounting information):\s*(\d+)\/(\d+)\s*$/;
const MKE2FS_PHASES = ['Allocating group tables', 'Writing inode tables', 'Creating journal', 'Writing superblocks'];
const RESIZE2FS = /^(Extending the inode table|Relocating blocks|Scanning inode table|Updating inode references|Moving inode table)\s+(X*)-*\s*$/;
const RESIZE2FS_BAR = 40;

/** Returns a fraction when `text` (a finished or in-place line) carries progress, else undefined. */
export function parseProgress(kind: ProgressKind, text: string): number | undefined {
  if (kind === 'qemu-img') {
    const m = QEMU_IMG.exec(text);
    return m ? clamp(Number(m[1]) / 100) : undefined;
  }
  if (kind === 'mke2fs') {
    const m = MKE2FS.exec(text);
    if (!m) return undefined;
    const phase = Math.max(0, MKE2FS_PHASES.findIndex((p) => m[1]!.startsWith(p)));
    const within = Number(m[3]) > 0 ? Number(m[2]) / Number(m[3]) : 0;
    return clamp((phase + within) / MKE2FS_PHASES.length);
  }
  const m = RESIZE2FS.exec(text);
  return m ? clamp(m[2]!.length / RESIZE2FS_BAR) : undefined;
}

function clamp(n: number): number {
  if (!Number.isFinite(n)) return 0;
  return Math.min(1, Math.max(0, n));
}
