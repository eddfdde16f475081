// Formatting the new volume's raw file: ext4 or XFS. For a qcow2 the raw file is a throwaway that
// qemu-img convert copies (only the written blocks); for a raw volume it is the volume itself.
import {constants} from 'node:fs';
import type {FlowStep} from '../src/flow-runner.js';
import type {CreateJob} from './create.js';
import {spaceAware, withFile} from './create-io.js';

export const mkfs: FlowStep<CreateJob> = {
  id: 'mkfs',
  title: 'Format the filesystem',
  changesDisk: true,
  async run(job, env) {
    const raw = job.rawPath!;
    // -F/-f once, after our own checks: the file is ours, new and empty.
    const ext4 = {
      cmd: 'mkfs.ext4',
      // packed_meta_blocks puts bitmaps, inode tables and the journal at the start, so a qcow2
      // only stores that region. Discard stays on: on a file it punches holes (instant on a sparse
      // one), after which mkfs knows the inode tables read as zeros and marks them so
      // (ITABLE_ZEROED). With nodiscard it left them to the guest kernel, which zeroes them in the
      // background after the first mount (ext4lazyinit): 40 GiB of zeroing for 5000G.
      // A raw volume also gets lazy_journal_init: mkfs would "zero" the 1 GiB journal with
      // fallocate(ZERO_RANGE), which reserves 1 GiB of the host's disk for blocks that read as
      // zeros anyway (the file is new, sparse and discarded); a qcow2 never stores them.
      args: ['-F', '-L', job.label, '-E', job.format === 'raw' ? 'packed_meta_blocks=1,lazy_journal_init=1' : 'packed_meta_blocks=1', '--', raw],
      progress: 'mke2fs' as const,
    };
    // mkfs.xfs's defaults suit a sparse file: it learns no stripe geometry from a file, its discard
    // does nothing there, and it zeroes the log with fallocate(ZERO_RANGE), which is instant.
    const xfs = {cmd: 'mkfs.xfs', args: ['-L', job.label, '-f', '--', raw]};
    const tool = job.fs === 'xfs' ? xfs : ext4;
    await spaceAware(job, tool.cmd, () => env.runner.run({...tool, title: `Format ${job.fs}, label ${job.label}`}), job.scratchDir ?? job.target.dir);
  },
};

/** XLOG_HEADER_MAGIC_NUM: the first block of a log mkfs.xfs made holds a record header. */
const LOG_MAGIC = 0xfeedbabe;
/** What is kept of the log: its first record (2 sectors, or one stripe unit: 256 KiB at most), with room to spare. */
const LOG_KEPT = 2 ** 20;

/** Where the internal log lies in the file, from the superblock; undefined when it is not where mkfs.xfs puts it. */
async function xfsLog(raw: string): Promise<{offset: number; length: number} | undefined> {
  const sb = Buffer.alloc(512);
  await withFile(raw, constants.O_RDONLY, (file) => file.read(sb, 0, 512, 0));
  if (sb.toString('latin1', 0, 4) !== 'XFSB') return undefined;
  const blockSize = sb.readUInt32BE(4);
  const logStart = sb.readBigUInt64BE(48); // a filesystem block number: AG number << agblklog | block in the AG
  const agBlocks = BigInt(sb.readUInt32BE(84));
  const logBlocks = sb.readUInt32BE(96);
  const agBlockLog = BigInt(sb.readUInt8(124));
  if (logStart === 0n) return undefined; // an external log
  const block = (logStart >> agBlockLog) * agBlocks + (logStart & ((1n << agBlockLog) - 1n));
  const offset = Number(block) * blockSize;
  const head = Buffer.alloc(4);
  await withFile(raw, constants.O_RDONLY, (file) => file.read(head, 0, 4, offset));
  if (head.readUInt32BE(0) !== LOG_MAGIC) return undefined;
  return {offset, length: logBlocks * blockSize};
}

/**
 * mkfs.xfs zeroes the whole log (2 GiB for a large volume) with fallocate(ZERO_RANGE) and then writes
 * only its first record; the guest's kernel finds the rest zero and starts there. ZERO_RANGE
 * reserves those 2 GiB on the host's disk: a hole reads as the same zeros and takes nothing, so the
 * log after its first MiB is punched out. Only when the superblock and the record header say the
 * log is where mkfs.xfs puts it; otherwise it is left as mkfs.xfs made it (correct, only larger).
 */
export const sparseLog: FlowStep<CreateJob> = {
  id: 'sparse-log',
  title: 'Leave the XFS log sparse',
  changesDisk: true,
  async run(job, env) {
    const raw = job.rawPath!;
    const log = env.runner.dryRun ? {offset: NaN, length: NaN} : await xfsLog(raw);
    if (!log || log.length <= LOG_KEPT) return;
    // A plan has no superblock to read the log's place from: it names them.
    const [offset, length] = env.runner.dryRun ? ['LOG_START+1MiB', 'LOG_SIZE-1MiB'] : [String(log.offset + LOG_KEPT), String(log.length - LOG_KEPT)];
    await env.runner.run({cmd: 'fallocate', args: ['--punch-hole', '--offset', offset, '--length', length, '--', raw], title: 'Punch the zeroed XFS log out of the file (it reads as the same zeros)'});
  },
};
