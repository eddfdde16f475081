// Small helpers shared by the benchmarks: timing commands, medians, process trees, the table.
import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';

// TDX_BENCH_CLI benchmarks another build of the CLI (e.g. a build variant) with the same harness.
// The CLI is run as a program, as an operator runs `tdx-wizard`.
export const CLI = resolve(process.env.TDX_BENCH_CLI ?? 'dist/cli.js');
export const PATH = `${process.env.PATH}:/usr/sbin:/sbin`;

export function tempDir(prefix) {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {path, remove: () => rmSync(path, {recursive: true, force: true})};
}

/** Runs argv, throws on failure, returns wall milliseconds. */
export function timed(cmd, args, options = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: {...process.env, PATH, ...options.env}, cwd: options.cwd, input: ''});
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0 && !options.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

export function sh(cmd, args) {
  return execFileSync(cmd, args, {encoding: 'utf8', env: {...process.env, PATH}});
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Allocated bytes of a file (what it really takes on disk). */
export function allocated(path) {
  return Number(sh('stat', ['-c', '%b*%B', path]).trim().split('*').reduce((a, b) => a * Number(b), 1));
}

export function table(rows) {
  const headers = Object.keys(rows[0]);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(r[h]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(headers.map((h) => r[h])))].join('\n');
}

export const MiB = 2 ** 20;

/** qemu-storage-daemon exporting a qcow2 as a FUSE file (the stand-in for /dev/nbd0): its own time to daemonize. */
export function fuseAttach(image, mountpoint, pidFile, writable) {
  const ro = writable ? '' : ',read-only=on';
  writeFileSync(mountpoint, '');
  return timed('qemu-storage-daemon', [
    '--blockdev', `driver=file,node-name=f,filename=${image}${ro}`,
    '--blockdev', `driver=qcow2,node-name=d,file=f${ro}`,
    '--export', `type=fuse,id=e,node-name=d,mountpoint=${mountpoint},writable=${writable ? 'on' : 'off'}`,
    '--pidfile', pidFile, '--daemonize',
  ]);
}

/**
 * The teardown waits for what the tools themselves wait for: `fusermount3 -u` (qemu-storage-daemon
 * leaves its FUSE mount behind when it is only signalled), SIGTERM, and the pid file it removes as it
 * exits. Never /proc/PID: the daemonized process is PID 1's child, reaped 1.2-2 s late here.
 */
export function fuseDetach(mountpoint, pidFile) {
  const pid = Number(readFileSync(pidFile, 'utf8'));
  let ms = timed('fusermount3', ['-u', mountpoint]);
  const start = performance.now();
  process.kill(pid, 'SIGTERM');
  while (existsSync(pidFile)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  return ms + performance.now() - start;
}

/** Read-only FUSE export, blkid -p, teardown: what an operator does to look at a volume's label. */
export function fuseBlkid(image, dir, n) {
  const mnt = join(dir, `m-${n}`);
  const pidFile = join(dir, `p-${n}`);
  return fuseAttach(image, mnt, pidFile, false) + timed('blkid', ['-p', '-o', 'export', mnt]) + fuseDetach(mnt, pidFile);
}
