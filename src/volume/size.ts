// Sizes as operators type them: 5000G, 5T, 100g, or plain bytes. Units are powers of 1024, one
// letter, as qemu-img and the seed document use them. Anything else is refused with the reason,
// because a misread size is a volume of the wrong size.
import {UsageError} from '../errors.js';

const UNITS: Record<string, number> = {K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50};

/** qcow2 with 64 KiB clusters addresses at most 2 PiB (qemu: "image size is too large"). */
export const QCOW2_MAX_BYTES = 2 ** 51;
export const MIN_CACHE_BYTES = 100 * 2 ** 30;
/** Below this even --force-small makes no sense for ext4 with a journal. */
export const MIN_ANY_BYTES = 64 * 2 ** 20;

const EXAMPLE = 'write it as a whole number with one unit letter: 5000G, 5T, 100g, or plain bytes';

export function parseSize(input: string): number {
  const text = input.trim();
  if (text !== input || text === '') throw new UsageError(`size "${input}" is empty or has spaces`, EXAMPLE);
  if (/^-/.test(text)) throw new UsageError(`size "${input}" is negative`, EXAMPLE);
  if (/[.,]/.test(text)) throw new UsageError(`size "${input}" has a fraction; sizes are whole numbers`, 'use a smaller unit, e.g. 1536G instead of 1.5T');
  if (/^\d+\s*(?:[kmgtpe]i?b|[kmgtpe]i)$/i.test(text)) {
    throw new UsageError(`size "${input}": unit "${text.replace(/^\d+/, '')}" is ambiguous (GB and GiB differ)`, `${EXAMPLE}; G means GiB (1024^3 bytes)`);
  }
  const m = /^(\d+)([kmgtpKMGTP])?$/.exec(text);
  if (!m) throw new UsageError(`size "${input}" is not a size`, EXAMPLE);
  const count = BigInt(m[1]!);
  const unit = m[2] ? BigInt(UNITS[m[2].toUpperCase()]!) : 1n;
  const bytes = count * unit;
  if (bytes === 0n) throw new UsageError(`size "${input}" is zero`, EXAMPLE);
  if (bytes > BigInt(QCOW2_MAX_BYTES)) {
    throw new UsageError(`size "${input}" is larger than a qcow2 image can be (${formatBytes(QCOW2_MAX_BYTES)})`, 'choose at most 2048T');
  }
  if (!m[2] && bytes % 512n !== 0n) throw new UsageError(`size ${input} bytes is not a multiple of 512`, 'give a size with a unit, such as 5000G');
  return Number(bytes);
}

/**
 * Checks a parsed size against what a cache volume needs. `from` is where the size was typed: the
 * fix names --force-small on the command line, and says where to find it in the wizard, which has
 * no such switch.
 */
export function checkVolumeSize(bytes: number, input: string, forceSmall: boolean, from: 'cli' | 'wizard' = 'cli'): void {
  const shell = 'tdx-wizard create --force-small PATH SIZE';
  if (bytes < MIN_ANY_BYTES) {
    throw new UsageError(`size ${input} is too small for an ext4 volume`, from === 'cli' ? 'use at least 64M (with --force-small), and 100G or more for a real cache' : `use 100G or more; a test volume (64M or more) from a shell: ${shell}`);
  }
  if (bytes < MIN_CACHE_BYTES && !forceSmall) {
    throw new UsageError(`size ${input} is under 100G: too small for a model cache (the seed document uses 5000G)`, from === 'cli' ? 'use 100G or more, or pass --force-small for a test volume' : `use 100G or more; a smaller test volume from a shell: ${shell}`);
  }
}

/** 5368709120000 -> "4.88 TiB (5000G)". Whole units are shown the way they were typed. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const shown = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
  return `${shown} ${units[i]}`;
}

/** The shortest exact way to write `bytes` with a unit letter (5000G), for commands and messages. */
export function sizeArg(bytes: number): string {
  for (const unit of ['P', 'T', 'G', 'M', 'K'] as const) {
    if (bytes % UNITS[unit]! === 0) return `${bytes / UNITS[unit]!}${unit}`;
  }
  return String(bytes);
}
