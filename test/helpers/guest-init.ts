// The shell pieces the guest sandbox runs: its init (the part of a guest's boot the harness
// stands in for: udev's by-label links, systemd's mount units, the order of the units) and the
// stand-ins for commands that cannot or must not run here. Every stand-in records its call in
// /run/guest-calls, which the init prints at the end, so a test can see e.g. `shutdown -h now`.

/** Capabilities a guest script keeps: enough for process-config.py's chown/chmod of the files it writes;
 * no CAP_SYS_ADMIN (no mount or remount, so the read-only binds of the host stay read-only), no
 * CAP_MKNOD (no device node for a host disk), no CAP_SYS_RAWIO, no CAP_NET_*. */
export const SCRIPT_CAPS = '-all,+chown,+dac_override,+fowner,+dac_read_search';

const record = 'echo "$(basename "$0") $*" >> /run/guest-calls';

/** name -> [what it stands for, body after the record line] */
export const STAND_INS: Record<string, [string, string]> = {
  shutdown: ['systemd shutdown(8): powering off the guest. Recorded, never done.', 'exit 0'],
  poweroff: ['poweroff(8) in the guest or initramfs (`poweroff -f`). Recorded, never done.', 'exit 0'],
  systemctl: ['systemctl: there is no systemd in the sandbox. Recorded.', 'exit 0'],
  logger: ["logger(1): the guest's journal. The scripts echo the same line to the console, which is what the harness reads.", 'exit 0'],
  'systemd-cat': ["systemd-cat: the guest's journal; the scripts echo the same line to the console as well.", 'cat >/dev/null; exit 0'],
  dmsetup: ['dmsetup: no device-mapper here, so no mapper device is ever a dm-crypt one (`dmsetup table` prints nothing).', 'exit 1'],
  sleep: ['sleep: waits for virtio devices to settle in a guest; loop devices are settled already.', 'exit 0'],
  curl: ['curl: the key API of production initramfs scripts is not reachable from the sandbox (no network).', 'exit 7'],
  mount: [
    'mount(8) for a script that mounts a volume itself (init-containerd-cache.sh): the script has no CAP_SYS_ADMIN, so the init (which has) mounts for it, read-only, and only an attached volume.',
    'exec /run/guest/bin/broker-client mount "$@"',
  ],
  umount: ['umount(8) for such a script, done by the init likewise.', 'exec /run/guest/bin/broker-client umount "$@"'],
};

export function standIn(name: string): string {
  const entry = STAND_INS[name];
  if (!entry) throw new Error(`no stand-in ${name}`);
  const [why, body] = entry;
  return `#!/bin/sh\n# Stand-in: ${why}\n${record}\n${body}\n`;
}

/** The script side of the mount broker: one request a line on a FIFO, the answer on another. */
export const BROKER_CLIENT = `#!/bin/sh
# Asks the sandbox init to mount/umount: last two arguments for mount (device, directory), last one for umount.
op=$1; shift
for a in "$@"; do last2=$last1; last1=$a; done
if [ "$op" = mount ]; then echo "mount $last2 $last1" > /run/broker.req; else echo "umount $last1" > /run/broker.req; fi
out=$(cat /run/broker.rep)
rc=\${out##*rc=}
printf '%s\\n' "\${out%rc=*}" | sed '/^$/d'
exit "$rc"
`;

export const INIT = `#!/bin/bash
# Runs as the sandbox's pid 1 child with full capabilities (inside its own namespaces only);
# every guest script it starts runs without them (setpriv).
exec 2>&1
: > /run/guest-calls
mkdir -p /dev/disk/by-label
# udev stand-in: the guest's udev makes /dev/disk/by-label/<LABEL> from blkid's answer, for
# filesystems and LUKS2 alike. The first device with a label keeps the link.
for d in $DEVICES; do
  l=$(blkid -o value -s LABEL "$d" 2>/dev/null) || true
  [ -n "$l" ] && [ ! -e "/dev/disk/by-label/$l" ] && ln -s "../../\${d#/dev/}" "/dev/disk/by-label/$l"
done

# A systemd mount unit: What=, Where=, Type=, Options= as the unit file says, and read-only
# ("ro" last: "defaults" would turn rw back on). A missing What= device is what systemd waits
# for until "Timed out waiting for device"; said here in one harness line.
step_mount() {
  local what=$1 where=$2 type=$3 opts=$4
  mkdir -p "$where"
  if [ ! -e "$what" ]; then echo "[harness] $what does not exist: systemd would time out waiting for the device"; return 1; fi
  if [ "$type" = auto ]; then /usr/bin/mount -o "$opts,ro" "$what" "$where"; else /usr/bin/mount -t "$type" -o "$opts,ro" "$what" "$where"; fi
}

step_script() {
  local envs=$1; shift
  ( cd / && env -i PATH=/run/guest/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root $envs \\
      setpriv --bounding-set=${SCRIPT_CAPS} --inh-caps=-all --no-new-privs -- "$@" )
}

# The mount broker (see the mount stand-in): read-only, attached volumes only, under /mnt.
broker() {
  while read -r op a b < /run/broker.req; do
    case "$op" in
      mount)
        dev=$(readlink -f "$a")
        case " $DEVICES " in
          *" $dev "*) case "$b" in /mnt/*) out=$(/usr/bin/mount -o ro "$dev" "$b" 2>&1); rc=$? ;; *) out="[harness] refused: mount point $b is not under /mnt"; rc=32 ;; esac ;;
          *) out="[harness] refused: $a is not an attached volume"; rc=32 ;;
        esac ;;
      umount) case "$a" in /mnt/*) out=$(/usr/bin/umount "$a" 2>&1); rc=$? ;; *) out="[harness] refused: $a"; rc=32 ;; esac ;;
      *) out="[harness] unknown request $op"; rc=2 ;;
    esac
    printf '%s\\nrc=%s' "$out" "$rc" > /run/broker.rep
  done
}
mkfifo /run/broker.req /run/broker.rep
broker & BROKER=$!

run_steps() {
  . /run/guest/steps.sh
}
run_steps
kill "$BROKER" 2>/dev/null
while read -r c; do echo "@@guest call $c"; done < /run/guest-calls
for f in $COLLECT; do
  [ -f "$f" ] || continue
  echo "@@guest file $f"
  while IFS= read -r line || [ -n "$line" ]; do echo "@@guest | $line"; done < "$f"
done
exit 0
`;
