// Realistic guest serial-log lines for the log benchmarks: a TDX guest's kernel and systemd boot
// chatter, the cache-volume verifier (upstream-sek8s.md §2 and §5, and the stand-in launcher
// test/fixtures/run-tdx.sh), initramfs storage setup and k3s start-up. QEMU writes the serial
// console with CRLF line ends; systemd colours its status words.
//
// Marker lines carry a sequence number and the time they were written (ms on the system-wide
// monotonic clock, see pty.mjs nowMs), so a reader can tell how long a line took to reach it.
import {closeSync, openSync, writeSync} from 'node:fs';

const OK = '\x1b[0;32m[  OK  ]\x1b[0m';
const BODY = [
  'Linux version 6.8.0-1014-intel (buildd@lcy02-amd64-072) (x86_64-linux-gnu-gcc-13) #14-Ubuntu SMP PREEMPT_DYNAMIC',
  'Command line: BOOT_IMAGE=/vmlinuz-6.8.0-1014-intel root=/dev/mapper/rootfs ro console=tty1 console=ttyS0',
  'tdx: Guest detected',
  'Memory: 1572864000K/1610612736K available (20480K kernel code, 4096K rwdata, 14336K rodata, 4736K init)',
  'virtio_blk virtio2: [vdb] 10485760000 512-byte logical blocks (5.37 TB/5.00 TiB)',
  'virtio_blk virtio3: [vdc] 1048576000 512-byte logical blocks (537 GB/500 GiB)',
  'EXT4-fs (vdb): mounted filesystem 1f0c2a4e-8d4b-4f9a-9a51-6a7c2e1d9b3f r/w with ordered data mode. Quota mode: none.',
  'systemd[1]: Starting verify-cache-volume.service - Verify cache volume...',
  '=== Cache Volume Verification Started ===',
  'Expected label: tdx-cache',
  'Cache device found: /dev/vdb',
  'Filesystem type: ext4',
  'Filesystem label: tdx-cache',
  'Filesystem UUID: 1f0c2a4e-8d4b-4f9a-9a51-6a7c2e1d9b3f',
  'Filesystem type verification: PASSED',
  'Filesystem label verification: PASSED',
  'Device /dev/vdb is ready to be mounted',
  'Begin: Setting up storage ... ',
  'Cache device is NOT encrypted (first boot)',
  'Storage and cache setup completed successfully',
  `${OK} Mounted var-snap.mount - /var/snap.`,
  `${OK} Started systemd-journald.service - Journal Service.`,
  `${OK} Reached target local-fs.target - Local File Systems.`,
  `${OK} Started k3s-agent.service - Lightweight Kubernetes.`,
  `${OK} Finished cloud-init.service - Cloud-init: Network Stage.`,
  'cloud-init[812]: Cloud-init v. 24.1.3-0ubuntu3 running \'modules:config\' at Mon, 12 Jan 2026 10:14:02 +0000. Up 14.27 seconds.',
  'k3s[1043]: time="2026-01-12T10:14:07Z" level=info msg="Starting k3s agent v1.30.4+k3s1 (98262b5d)"',
  'k3s[1043]: I0112 10:14:09.123456    1043 kubelet.go:2337] "Skipping pod synchronization" err="container runtime status check may not have completed yet"',
  'containerd[988]: time="2026-01-12T10:14:08.412Z" level=info msg="loading plugin \\"io.containerd.snapshotter.v1.overlayfs\\"..." type=io.containerd.snapshotter.v1',
  'chutes-agent[1201]: INFO  gpu 0: NVIDIA H200 141GB HBM3e, driver 570.86.15, confidential compute: on',
  'audit: type=1400 audit(1736676842.512:97): apparmor="STATUS" operation="profile_load" profile="unconfined" name="k3s"',
  'Ubuntu 24.04 LTS miner-01 ttyS0',
];

/** The i-th body line, with a kernel-style time stamp. */
export function serialLine(i) {
  const secs = (i / 50_000).toFixed(6).padStart(12);
  return `[${secs}] ${BODY[i % BODY.length]}`;
}

export function markerLine(seq, at) {
  const secs = (seq / 5000).toFixed(6).padStart(12);
  return `[${secs}] tdx-bench: mark ${seq} written ${at.toFixed(3)}`;
}

export const MARKER = /mark (-?\d+) written (\d+\.\d+)/g;

/** `bytes` or more of serial lines (CRLF ends), as one string. */
export function serialText(bytes, from = 0) {
  const parts = [];
  let size = 0;
  for (let i = from; size < bytes; i++) {
    const line = `${serialLine(i)}\r\n`;
    parts.push(line);
    size += line.length;
  }
  return parts.join('');
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** A 1 GiB serial log, quickly: 8 MiB of realistic lines written 128 times in large writes, then a marker line. */
export function bigLog(file) {
  const block = Buffer.from(serialText(8 * MiB));
  const fd = openSync(file, 'w');
  try {
    const whole = Math.floor(GiB / block.length);
    for (let i = 0; i < whole; i++) writeSync(fd, block);
    writeSync(fd, block, 0, GiB - whole * block.length - 200);
    writeSync(fd, `\r\n${markerLine(999_999, 0)}\r\n`);
  } finally {
    closeSync(fd);
  }
}
