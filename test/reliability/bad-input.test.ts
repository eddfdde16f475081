// Bad input, across every command and field: exit code 2, a message that says what is wrong, a fix
// (a "fix:" line, commander's errors included) and the file
// system unchanged (a snapshot of the whole test tree, state and settings included, before and
// after). Raw bytes (non-UTF-8 paths) are passed byte for byte through bash.
import {chmodSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {snapshot} from '../helpers/cli.js';
import {requireTools, sh, tempDir} from '../helpers/tools.js';
import {makeVolume} from '../helpers/volumes.js';
import {runCliBytes, STANDIN_LAUNCHER, TEST_SEED, TEST_SS58} from '../helpers/reliability.js';

let tmp: ReturnType<typeof tempDir>;
let d: string; // the corpus directory
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'mkfs.xfs', 'cryptsetup', 'debugfs', 'bash');
  tmp = tempDir('tdxw-rel-input-');
  d = join(tmp.path, 'd');
  mkdirSync(d);
  writeFileSync(join(d, 'existing.qcow2'), 'precious');
  writeFileSync(join(d, 'precious.txt'), 'precious');
  writeFileSync(join(d, 'with space and "quotes" \'too\'.qcow2'), 'precious');
  symlinkSync(join(d, 'precious.txt'), join(d, 'link.qcow2'));
  symlinkSync(join(d, 'nowhere'), join(d, 'dangling.qcow2'));
  mkdirSync(join(d, 'subdir'));
  makeVolume(d, 'ready.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M'});
  makeVolume(d, 'models.qcow2', {fs: 'ext4', label: 'models', size: '64M'});
  makeVolume(d, 'xfs.qcow2', {fs: 'xfs', label: 'x', size: '512M'});
  makeVolume(d, 'luks1.qcow2', {fs: 'luks1', size: '64M'});
  makeVolume(d, 'luks2.qcow2', {fs: 'luks2', label: 'tdx-cache', size: '64M'});
  makeVolume(d, 'empty.qcow2', {fs: 'empty', size: '64M'});
  makeVolume(d, 'raw-named.qcow2', {fs: 'ext4', label: 'tdx-cache', size: '64M', format: 'raw'});
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(d, 'ready.qcow2'), '-F', 'qcow2', join(d, 'overlay.qcow2')]);
  writeFileSync(join(d, 'seed-short'), `${TEST_SEED.slice(1)}\n`, {mode: 0o600});
  writeFileSync(join(d, 'seed-nonhex'), `${TEST_SEED.slice(0, 63)}g\n`, {mode: 0o600});
  writeFileSync(join(d, 'seed-empty'), '', {mode: 0o600});
  writeFileSync(join(d, 'seed-ok'), `${TEST_SEED}\n`, {mode: 0o600});
  sh('truncate', ['-s', '4G', join(d, 'seed-huge')]); // sparse: 4 GiB that must never be read whole
  chmodSync(join(d, 'seed-huge'), 0o600);
  mkdirSync(join(d, 'seed-dir'));
  writeFileSync(join(d, 'not-exec.sh'), '#!/bin/sh\n', {mode: 0o644});
  writeFileSync(join(d, 'guest.qcow2'), '');
  mkdirSync(join(d, 'sys/class/net/eth0'), {recursive: true});
  mkdirSync(join(d, 'sys/class/net/vmnet-1234abcd/macvtap/tap7'), {recursive: true});
  writeFileSync(join(d, 'serial.log'), 'SeaBIOS\n');
  writeFileSync(join(d, 'vm.pid'), '999999\n'); // a VM that has ended
  mkdirSync(join(tmp.path, 'state'), {mode: 0o700});
  mkdirSync(join(tmp.path, 'config'), {mode: 0o700});
  // The settings as the wizard writes them with the defaults: reading them changes nothing.
  writeFileSync(join(tmp.path, 'config', 'config.json'), `${JSON.stringify({volumeSize: '5000G', networkType: 'tap'}, null, '\t')}`, {mode: 0o600});
  env = {
    TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'),
    TDX_WIZARD_CONFIG_DIR: join(tmp.path, 'config'),
    TDX_WIZARD_PID_FILE: join(d, 'vm.pid'),
    TDX_WIZARD_SERIAL_LOG: join(d, 'serial.log'),
    TDX_WIZARD_SYS_ROOT: join(d, 'sys'),
    TDX_MINER_SEED: '',
    CI: 'true',
  };
});
afterAll(() => tmp?.remove());

type Arg = string | Buffer;
/** Bytes that are not UTF-8 (0xff, a lone continuation byte 0x80, an overlong 0xc0 0xaf). */
const notUtf8 = (name: string) => Buffer.concat([Buffer.from(`${name}-`), Buffer.from([0xff, 0x80, 0xc0, 0xaf]), Buffer.from('.qcow2')]);
const p = (name: string) => join(d, name);
const pb = (name: string) => Buffer.concat([Buffer.from(`${d}/`), notUtf8(name)]);

/** launch with every field valid except what `change` replaces or removes. */
function launch(change: Record<string, string | null> = {}, extra: string[] = []): string[] {
  const fields: Record<string, string | null> = {
    '--launcher': STANDIN_LAUNCHER,
    '--cache-volume': p('ready.qcow2'),
    '--image': p('guest.qcow2'),
    '--hostname': 'miner-01',
    '--miner-ss58': TEST_SS58,
    '--miner-seed-file': p('seed-ok'),
    '--network-type': 'user',
    '--vm-ip': '10.0.2.15',
    '--vm-gateway': '10.0.2.2',
    ...change,
  };
  return ['launch', ...Object.entries(fields).flatMap(([k, v]) => (v === null ? [] : [k, v])), ...extra];
}

const CASES: Array<[string, Arg[] | (() => Arg[]), RegExp, NodeJS.ProcessEnv?]> = [
  // create: sizes
  ['create: size 0', () => ['create', p('a.qcow2'), '0'], /size "0" is zero/],
  ['create: negative size', () => ['create', p('a.qcow2'), '--', '-5G'], /size "-5G" is negative/],
  ['create: a fraction', () => ['create', p('a.qcow2'), '1.5T'], /fraction/],
  ['create: 10GB (ambiguous unit)', () => ['create', p('a.qcow2'), '10GB'], /ambiguous/],
  ['create: 10GiB (ambiguous unit)', () => ['create', p('a.qcow2'), '10GiB'], /ambiguous/],
  ['create: words for a size', () => ['create', p('a.qcow2'), 'big'], /size "big" is not a size/],
  ['create: an empty size', () => ['create', p('a.qcow2'), ''], /size "" is empty or has spaces/],
  ['create: a size with a space', () => ['create', p('a.qcow2'), ' 100G'], /is empty or has spaces/],
  ['create: a size in scientific notation', () => ['create', p('a.qcow2'), '1e12'], /not a size/],
  ['create: a hex size', () => ['create', p('a.qcow2'), '0x10G'], /not a size/],
  ['create: under 100G without --force-small', () => ['create', p('a.qcow2'), '50G'], /under 100G[\s\S]*--force-small/],
  ['create: over the qcow2 limit', () => ['create', p('a.qcow2'), '3P'], /larger than a qcow2 image can be/],
  ['create: bytes not a multiple of 512', () => ['create', p('a.qcow2'), '107374182401'], /multiple of 512/],
  // create: labels
  ['create: a label over 16 bytes', () => ['create', '--label', 'tdx-cache-storage', p('a.qcow2'), '100G'], /17 bytes[\s\S]*"tdx-cache-storag"/],
  ['create: an empty label', () => ['create', '--label', '', p('a.qcow2'), '100G'], /label is empty/],
  ['create: a label with a newline', () => ['create', '--label', 'a\nb', p('a.qcow2'), '100G'], /control character/],
  ['create: a label of 9 two-byte characters (18 bytes)', () => ['create', '--label', 'üüüüüüüüü', p('a.qcow2'), '100G'], /18 bytes/],
  // create: paths
  ['create: nbd: protocol', () => ['create', 'nbd:localhost:10809', '100G'], /qemu protocol name \("nbd:"\)/],
  ['create: json: protocol', () => ['create', 'json:{"file":{"driver":"file","filename":"/x"}}', '100G'], /qemu protocol name \("json:"\)/],
  ['create: file: protocol', () => ['create', 'file:cache.qcow2', '100G'], /qemu protocol name \("file:"\)/],
  ['create: an existing file', () => ['create', p('existing.qcow2'), '100G'], /already exists \(8 bytes\); creating would destroy it/],
  ['create: an existing file whose name has spaces and quotes', () => ['create', p('with space and "quotes" \'too\'.qcow2'), '100G'], /"quotes" 'too'\.qcow2 already exists/],
  ['create: a symlink', () => ['create', p('link.qcow2'), '100G'], /is a symbolic link/],
  ['create: a dangling symlink', () => ['create', p('dangling.qcow2'), '100G'], /is a symbolic link/],
  ['create: a directory', () => ['create', p('subdir'), '100G'], /is a directory/],
  ['create: a path ending in /', () => ['create', `${p('subdir')}/`, '100G'], /names a directory/],
  ['create: a character device', () => ['create', '/dev/null', '100G'], /is a character device/],
  ['create: a block device', () => ['create', '/dev/loop0', '100G'], /is a block device \(this command creates image files, it never formats devices\)/],
  ['create: a missing parent, no terminal', () => ['create', p('nope/a.qcow2'), '100G'], /does not exist[\s\S]*--create-parent/],
  ['create: spaces and quotes under a missing parent', () => ['create', p('no "such" dir/my cache.qcow2'), '100G'], /no "such" dir does not exist/],
  ['create: a newline in the path', () => ['create', p('a\nb.qcow2'), '100G'], /control character/],
  ['create: a tab in the path', () => ['create', p('a\tb.qcow2'), '100G'], /control character/],
  ['create: a path that is not UTF-8', () => ['create', pb('cache'), '100G'], /is not valid UTF-8/],
  ['create: a path that starts with -', () => ['create', '-cache.qcow2', '100G'], /unknown option '-cache\.qcow2'/],
  ['create: --method magic', () => ['create', '--method', 'magic', p('a.qcow2'), '100G'], /argument 'magic' is invalid\. Allowed choices are offline, nbd/],
  ['create: no path', () => ['create'], /create needs the new volume's path, or --vm HOSTNAME[\s\S]*fix: tdx-wizard create cache-volume.qcow2/],
  ['create: one argument too many', () => ['create', p('a.qcow2'), '100G', 'extra'], /too many arguments/],
  ['create: --transcript-format xml', () => ['--transcript-format', 'xml', 'create', p('a.qcow2'), '100G'], /--transcript-format must be log or sh, not "xml"/],
  // inspect / verify
  ['verify: a missing file', () => ['verify', p('missing.qcow2')], /missing\.qcow2 does not exist/],
  ['verify: a directory', () => ['verify', p('subdir')], /is not a regular file/],
  ['verify: nbd: protocol', () => ['verify', 'nbd:localhost:10809'], /looks like a qemu protocol name/],
  ['verify: a character device', () => ['verify', '/dev/null'], /is not a regular file/],
  ['verify: a path that is not UTF-8', () => ['verify', pb('missing')], /does not exist/],
  ['inspect: a newline in the path', () => ['inspect', p('ready\n.qcow2')], /control characters/],
  ['inspect: a dangling symlink', () => ['inspect', p('dangling.qcow2')], /does not exist/],
  ['inspect: no path', () => ['inspect'], /missing required argument 'path'/],
  // relabel
  ['relabel: a label over 16 bytes', () => ['relabel', '--yes', '--label', 'tdx-cache-storage', p('models.qcow2')], /17 bytes/],
  ['relabel: an empty label', () => ['relabel', '--yes', '--label', '', p('models.qcow2')], /label is empty/],
  ['relabel: a label with a newline', () => ['relabel', '--yes', '--label', 'tdx\ncache', p('models.qcow2')], /control character/],
  ['relabel: a missing volume', () => ['relabel', '--yes', p('missing.qcow2')], /does not exist/],
  ['relabel: a directory', () => ['relabel', '--yes', p('subdir')], /is not a regular file/],
  ['relabel: a symlink', () => ['relabel', '--yes', p('link.qcow2')], /is a symbolic link/],
  ['relabel: nbd: protocol', () => ['relabel', '--yes', 'nbd:localhost:10809'], /qemu protocol name/],
  ['relabel: an XFS label over 12 bytes', () => ['relabel', '--yes', '--label', 'tdx-cache-main', p('xfs.qcow2')], /is 14 bytes; XFS keeps at most 12 and xfs_admin would silently cut it/],
  ['relabel: a LUKS1 volume', () => ['relabel', '--yes', p('luks1.qcow2')], /is LUKS1, which has no label/],
  ['relabel: an empty volume', () => ['relabel', '--yes', p('empty.qcow2')], /holds empty; only ext4, XFS and LUKS2 volumes can be relabelled/],
  ['relabel: no --yes and no terminal', () => ['relabel', p('models.qcow2')], /No terminal to ask on[\s\S]*pass --yes/],
  ['relabel: a path that is not UTF-8', () => ['relabel', '--yes', pb('models')], /does not exist/],
  // resize
  ['resize: shrinking', () => ['resize', '--yes', p('ready.qcow2'), '32M'], /shrinking is refused/],
  ['resize: words for a size', () => ['resize', '--yes', p('ready.qcow2'), 'bigger'], /not a size/],
  ['resize: +0', () => ['resize', '--yes', p('ready.qcow2'), '+0'], /is zero/],
  ['resize: a negative size', () => ['resize', '--yes', p('ready.qcow2'), '--', '-1G'], /negative/],
  ['resize: over the qcow2 limit', () => ['resize', '--yes', p('ready.qcow2'), '+3P'], /larger than a qcow2 image can be/],
  ['resize: a LUKS volume', () => ['resize', '--yes', p('luks2.qcow2'), '+64M'], /LUKS-encrypted: the guest owns it/],
  ['resize: an XFS volume', () => ['resize', '--yes', p('xfs.qcow2'), '+64M'], /holds xfs; only ext4 volumes can be grown here/],
  ['resize: an empty volume', () => ['resize', '--yes', p('empty.qcow2'), '+64M'], /holds empty; only ext4/],
  ['resize: no --yes and no terminal', () => ['resize', p('ready.qcow2'), '+64M'], /pass --yes/],
  ['resize: a missing volume', () => ['resize', '--yes', p('missing.qcow2'), '+64M'], /does not exist/],
  // format
  ['format: ext4 without --confirm', () => ['format', p('models.qcow2')], /holds ext4 labelled "models"[\s\S]*pass --confirm "models\.qcow2"/],
  ['format: ext4 with --yes (not enough)', () => ['format', '--yes', p('ready.qcow2')], /the guest would already accept it[\s\S]*pass --confirm "ready\.qcow2"/],
  ['format: the wrong --confirm name', () => ['format', '--confirm', 'other.qcow2', p('models.qcow2')], /--confirm "other\.qcow2" does not match "models\.qcow2"/],
  ['format: a LUKS2 volume a production guest made', () => ['format', p('luks2.qcow2')], /LUKS2 labelled "tdx-cache": a production guest encrypted it[\s\S]*fix: leave it as it is/],
  ['format: an overlay with a backing file', () => ['format', '--confirm', 'overlay.qcow2', p('overlay.qcow2')], /has a backing file/],
  ['format: a raw file named .qcow2', () => ['format', '--confirm', 'raw-named.qcow2', p('raw-named.qcow2')], /is a raw file named \.qcow2/],
  ['format: a label over 16 bytes', () => ['format', '--label', 'tdx-cache-storage', p('empty.qcow2')], /17 bytes/],
  ['format: an empty volume without --yes', () => ['format', p('empty.qcow2')], /pass --yes/],
  // nbd
  ['nbd detach: /dev/sda', () => ['nbd', 'detach', '/dev/sda'], /\/dev\/sda is not an NBD device/],
  ['nbd detach: a partition', () => ['nbd', 'detach', '/dev/nbd0p1'], /is a partition of an NBD device[\s\S]*fix: give the whole device: \/dev\/nbd0/],
  ['nbd detach: a word', () => ['nbd', 'detach', 'foo'], /foo is not an NBD device/],
  ['nbd detach: empty', () => ['nbd', 'detach', ''], /is not an NBD device/],
  ['nbd detach: nbd with a path trick', () => ['nbd', 'detach', '/dev/../dev/nbd0'], /is not an NBD device/],
  ['nbd attach: a missing image', () => ['nbd', 'attach', p('missing.qcow2')], /missing\.qcow2 does not exist/],
  ['nbd attach: a directory', () => ['nbd', 'attach', p('subdir')], /is not a regular file/],
  ['nbd attach: a symlink', () => ['nbd', 'attach', p('link.qcow2')], /is a symbolic link/],
  ['nbd attach: --format vmdk', () => ['nbd', 'attach', '--format', 'vmdk', p('ready.qcow2')], /argument 'vmdk' is invalid\. Allowed choices are qcow2, raw/],
  ['nbd: an unknown subcommand', () => ['nbd', 'frobnicate'], /unknown command 'frobnicate'/],
  // launch: each field
  ['launch: hostname with capitals and _', () => launch({'--hostname': 'Miner_01'}), /the hostname has "M" at position 1[\s\S]*fix: use 1-63 characters: lower-case letters, digits and "-"/],
  ['launch: hostname starting with -', () => launch({'--hostname': '-miner'}), /starts or ends with "-"/],
  ['launch: hostname of 64 characters', () => launch({'--hostname': 'a'.repeat(64)}), /64 characters long; a DNS label has at most 63/],
  ['launch: hostname with a dot', () => launch({'--hostname': 'miner.01'}), /has "\." at position 6/],
  ['launch: SS58 with a wrong checksum', () => launch({'--miner-ss58': `${TEST_SS58.slice(0, -1)}Z`}), /checksum/i],
  ['launch: SS58 with a character outside base58', () => launch({'--miner-ss58': `0${TEST_SS58.slice(1)}`}), /base58|not .*SS58/i],
  ['launch: SS58 too short', () => launch({'--miner-ss58': 'abc'}), /SS58|too short|length/i],
  ['launch: a seed of 63 hex characters', () => launch({'--miner-seed-file': p('seed-short')}), /the miner seed has 63 hex characters; it needs exactly 64/],
  ['launch: a seed that is not hex', () => launch({'--miner-seed-file': p('seed-nonhex')}), /a character that is not hex at position 64/],
  ['launch: an empty seed file', () => launch({'--miner-seed-file': p('seed-empty')}), /--miner-seed-file is required|the miner seed is empty/],
  ['launch: a missing seed file', () => launch({'--miner-seed-file': p('no-seed')}), /the miner seed file \S+no-seed does not exist/],
  ['launch: a seed file that is a directory', () => launch({'--miner-seed-file': p('seed-dir')}), /is not a regular file/],
  ['launch: --miner-seed-file and --miner-seed', () => launch({}, ['--miner-seed', TEST_SEED]), /both --miner-seed-file and --miner-seed were given/],
  ['launch: --miner-seed of 65 characters', () => launch({'--miner-seed-file': null}, ['--miner-seed', `${TEST_SEED}0`]), /65 hex characters/],
  ['launch: VM IP 300.1.1.1', () => launch({'--vm-ip': '300.1.1.1'}), /the VM IP "300\.1\.1\.1" is not an IPv4 address/],
  ['launch: several fields wrong at once', () => launch({'--hostname': 'Miner', '--vm-ip': '10.0.2.256'}), /2 launch fields need fixing:(?=[\s\S]*\n {2}- the hostname has "M")(?=[\s\S]*\n {2}- the VM IP "10\.0\.2\.256" is not an IPv4 address)/],
  ['launch: VM IP with three parts', () => launch({'--vm-ip': '192.168.1'}), /"192\.168\.1" is not an IPv4 address/],
  ['launch: VM IP with a leading zero', () => launch({'--vm-ip': '10.0.2.015'}), /"10\.0\.2\.015" is not an IPv4 address[\s\S]*without leading zeros/],
  ['launch: VM IP the network address', () => launch({'--vm-ip': '10.0.2.0'}), /is the network address of its \/24/],
  ['launch: gateway outside the /24', () => launch({'--vm-gateway': '10.0.3.1'}), /outside the VM's network 10\.0\.2\.0\/24/],
  ['launch: gateway the VM itself', () => launch({'--vm-gateway': '10.0.2.15'}), /is the VM's own address/],
  ['launch: DNS as a name', () => launch({}, ['--vm-dns', 'dns.google']), /the DNS server "dns\.google" is not an IPv4 address/],
  ['launch: SSH port 0', () => launch({}, ['--ssh-port', '0']), /SSH port "0" is not a whole number from 1 to 65535/],
  ['launch: SSH port 70000', () => launch({}, ['--ssh-port', '70000']), /SSH port "70000"/],
  ['launch: SSH port as a word', () => launch({}, ['--ssh-port', 'ssh']), /SSH port "ssh"/],
  ['launch: 0 vCPUs', () => launch({}, ['--vcpus', '0']), /vCPU count "0"/],
  ['launch: memory without a unit', () => launch({}, ['--mem', '1536']), /memory size "1536" needs a whole number and a unit/],
  ['launch: memory as a fraction', () => launch({}, ['--mem', '1.5T']), /memory size "1\.5T"/],
  ['launch: network type bridge', () => launch({'--network-type': 'bridge'}), /network type "bridge" is not one of tap, macvtap, user/],
  ['launch: macvtap without an interface', () => launch({'--network-type': 'macvtap'}), /--net-iface is required for the macvtap network/],
  ['launch: macvtap on an interface that is not macvtap', () => launch({'--network-type': 'macvtap'}, ['--net-iface', 'eth0']), /eth0 exists but is not a macvtap interface/],
  ['launch: an interface name with /', () => launch({'--network-type': 'tap'}, ['--net-iface', 'tap/0']), /"tap\/0" is not a valid interface name/],
  ['launch: a launcher that does not exist', () => launch({'--launcher': p('nope/run-tdx.sh')}), /no launcher at \S+nope\/run-tdx\.sh/],
  ['launch: a launcher that is not executable', () => launch({'--launcher': p('not-exec.sh')}), /is not executable[\s\S]*fix: chmod \+x/],
  ['launch: a launcher that is a directory', () => launch({'--launcher': p('subdir')}), /the launcher \S+subdir is not a file/],
  ['launch: a cache volume that does not exist', () => launch({'--cache-volume': p('missing.qcow2')}), /the cache volume \S+missing\.qcow2 does not exist/],
  ['launch: a cache volume that is a directory', () => launch({'--cache-volume': p('subdir')}), /the cache volume \S+subdir is not a regular file/],
  ['launch: a cache volume with the wrong label', () => launch({'--cache-volume': p('models.qcow2')}), /the guest would reject \S+models\.qcow2 and power itself off/],
  ['launch: an XFS cache volume', () => launch({'--cache-volume': p('xfs.qcow2')}), /the guest would reject \S+xfs\.qcow2/],
  ['launch: a cache volume path that is not UTF-8', () => ['launch', '--launcher', STANDIN_LAUNCHER, '--cache-volume', pb('ready'), '--image', p('guest.qcow2'), '--hostname', 'miner-01', '--miner-ss58', TEST_SS58, '--miner-seed-file', p('seed-ok'), '--network-type', 'user', '--vm-ip', '10.0.2.15', '--vm-gateway', '10.0.2.2'], /the cache volume \S+ does not exist/],
  ['launch: a cache volume path with a newline', () => launch({'--cache-volume': p('ready\n.qcow2')}), /the cache volume path is empty or has control characters/],
  ['launch: no cache volume', () => launch({'--cache-volume': null}), /--cache-volume is required the guest powers off without its tdx-cache volume/],
  ['launch: a guest image that does not exist', () => launch({'--image': p('missing-guest.qcow2')}), /the guest image \S+ does not exist/],
  ['launch: --miner-seed after --', () => launch({}, ['--', '--miner-seed', TEST_SEED]), /--miner-seed cannot be passed through to the launcher/],
  ['launch: --hostname after --', () => launch({}, ['--', '--hostname', 'x']), /--hostname was given as an extra flag/],
  // logs, stop, the program
  ['logs: a file that does not exist', () => ['logs', '--file', p('missing.log')], /there is no serial log at \S+missing\.log/],
  ['logs: a directory', () => ['logs', '--file', p('subdir')], /\S+subdir is a directory, not a serial log\n\s+fix: give the log file/],
  ['stop: no --yes and no terminal', () => ['stop', '--launcher', STANDIN_LAUNCHER], /pass --yes/],
  ['stop: a launcher that does not exist', () => ['stop', '--yes', '--launcher', p('nope.sh')], /no launcher at \S+nope\.sh/],
  ['an unknown command', () => ['frobnicate'], /unknown command 'frobnicate'\n\s+fix: tdx-wizard --help shows what it takes/],
  ['an unknown option', () => ['--frobnicate', 'status'], /unknown option '--frobnicate'/],
  ['nbd disconnect: the word operators reach for', () => ['nbd', 'disconnect', '/dev/nbd0'], /unknown command 'disconnect'\n\s+fix: did you mean: tdx-wizard nbd detach\?/],
  ['a misspelt command', () => ['verfy', 'x.qcow2'], /fix: did you mean: tdx-wizard verify\?/],
  ['fsck: the word operators reach for a damaged volume', () => ['fsck', 'x.qcow2'], /unknown command 'fsck'\n\s+fix: did you mean: tdx-wizard repair\?/],
  ['an unknown option of a command', () => ['create', '--bogus', p('x.qcow2')], /unknown option '--bogus'\n\s+fix: tdx-wizard create --help/],
  ['too many arguments', () => ['eras', 'one', 'two'], /too many arguments for 'eras'[\s\S]*fix: tdx-wizard eras --help/],
  ['create: a 240-byte file name (its work directory would pass 255)', () => ['create', p(`${'v'.repeat(234)}.qcow2`), '200G'], /the file name is 240 bytes long; at most 235/],
  ['create: a 300-byte file name', () => ['create', p(`${'v'.repeat(294)}.qcow2`), '200G'], /the file name is 300 bytes long/],
  ['a flag given twice with two values', () => ['create', p('twice.qcow2'), '200G', '--role', 'cache', '--role', 'storage'], /--role was given twice, as "cache" and as "storage"/],
  ['a flag given twice, once with =', () => ['create', p('twice.qcow2'), '200G', '--role=cache', '--role', 'storage'], /--role was given twice/],
  ['config-volume: a 4 GiB seed file (never read whole)', () => ['config-volume', p('c.qcow2'), '--hostname', 'h', '--miner-ss58', TEST_SS58, '--miner-seed-file', p('seed-huge'), '--vm-ip', '192.168.100.2', '--vm-gateway', '192.168.100.1'], /is 4294967296 bytes long; a seed is 64 hex characters/],
  ['create: TDX_WIZARD_SCRATCH_DIR that does not exist', () => ['create', p('scratch.qcow2'), '200G'], /TDX_WIZARD_SCRATCH_DIR is \/nonexistent, which does not exist/, {TDX_WIZARD_SCRATCH_DIR: '/nonexistent'}],
  ['relabel: a raw file named .qcow2', () => ['relabel', p('raw-named.qcow2'), '--yes'], /raw-named\.qcow2 is a raw file named \.qcow2/],
  ['resize: a raw file named .qcow2', () => ['resize', p('raw-named.qcow2'), '+1G', '--yes'], /raw-named\.qcow2 is a raw file named \.qcow2/],
  ['launch: TDX_WIZARD_LAUNCH_TIMEOUT=abc', () => ['launch', '--launcher', STANDIN_LAUNCHER], /TDX_WIZARD_LAUNCH_TIMEOUT is "abc", not a number of seconds/, {TDX_WIZARD_LAUNCH_TIMEOUT: 'abc'}],
  ['volumes adopt: a file that does not exist', () => ['volumes', 'adopt', '--yes', p('nothing-here.qcow2')], /nothing-here\.qcow2 does not exist/],
  ['volumes adopt: a name without the VM in it', () => ['volumes', 'adopt', '--yes', p('raw-named.qcow2')], /which VM it belongs to is not in its name/],
  ['prepare --guest with an unknown kind', () => ['prepare', '--hostname', 'm1', '--guest', 'staging'], /--guest.*staging/],
  ['status --lines abc', () => ['status', '--lines', 'abc'], /--lines abc is not a whole number/],
  ['status --lines -1', () => ['status', '--lines=-1'], /--lines -1 is not a whole number/],
];

// Every refusal has a fix line (commander's own errors included).
const HINT = /\n\s*fix: \S/;

describe(`bad input: ${CASES.length} cases, each exit 2 with what is wrong and how to fix it, nothing changed`, () => {
  it('the corpus has at least 80 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(80));
  for (const [name, args, what, extraEnv] of CASES) {
    it(name, () => {
      const before = snapshot(tmp.path);
      const r = runCliBytes(typeof args === 'function' ? args() : args, {env: {...env, ...extraEnv}});
      const said = r.stderr + r.stdout;
      expect(r.code, said).toBe(2);
      expect(said).toMatch(what);
      expect(said, 'a fix or a pointer to --help').toMatch(HINT);
      expect(said).not.toMatch(/^\$ /m); // no command was run
      expect(snapshot(tmp.path)).toEqual(before);
    });
  }
});
