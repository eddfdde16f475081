import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {CLI, runCli, snapshot, startCli} from './helpers/cli.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';
import {groupLines} from './helpers/volumes.js';

let tmp: ReturnType<typeof tempDir>;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireTools('qemu-img', 'mkfs.ext4', 'blkid', 'tune2fs', 'setpriv');
  tmp = tempDir('tdxw-create-');
  env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state'), CI: 'true'};
});
afterAll(() => tmp.remove());

/** Reads the filesystem facts of a qcow2 with the real tools: the first 16 MiB as raw, then blkid and dumpe2fs. */
function filesystemOf(qcow2: string): {blkid: Record<string, string>; blockCount: number; blockSize: number} {
  const head = `${qcow2}.head.raw`;
  sh('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', 'bs=1M', 'count=16', `if=${qcow2}`, `of=${head}`]);
  const blkid = Object.fromEntries(
    sh('blkid', ['-p', '-o', 'export', head])
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
  const dump = sh('tune2fs', ['-l', head]); // the superblock only (dumpe2fs also wants the journal)
  sh('rm', ['-f', head]);
  return {
    blkid,
    blockCount: Number(/^Block count:\s+(\d+)/m.exec(dump)![1]),
    blockSize: Number(/^Block size:\s+(\d+)/m.exec(dump)![1]),
  };
}

describe('create (offline, real tools)', () => {
  it('creates a verified 5000G tdx-cache volume', () => {
    const dir = join(tmp.path, 'real');
    mkdirSync(dir);
    const path = join(dir, 'cache-volume.qcow2');
    const r = runCli(['create', path, '5000G'], {env});
    expect(r.stderr).not.toMatch(/^(failed|error):/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`created ${path}`);
    expect(r.stdout).toMatch(/ext4 labelled "tdx-cache"/);

    const info = JSON.parse(sh('qemu-img', ['info', '-f', 'qcow2', '--output=json', path]));
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(5000 * 2 ** 30);
    expect(info['actual-size']).toBeLessThan(100 * 2 ** 20); // about 62 MiB, not hundreds
    const fs = filesystemOf(path);
    expect(fs.blkid.TYPE).toBe('ext4');
    expect(fs.blkid.LABEL).toBe('tdx-cache');
    expect(fs.blockCount * fs.blockSize).toBe(5000 * 2 ** 30);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['cache-volume.qcow2']); // no work directory left
    const transcript = /transcript: (.+)/.exec(r.stderr)![1]!;
    expect(statSync(transcript).mode & 0o777).toBe(0o600);
    expect(readFileSync(transcript, 'utf8')).toContain('mkfs.ext4 -F -L tdx-cache');
  });

  it('marks every inode table zeroed: the guest kernel has nothing to zero after the first mount', () => {
    const path = join(tmp.path, 'zeroed.qcow2');
    expect(runCli(['create', path, '5000G'], {env}).code).toBe(0);
    const raw = join(tmp.path, 'zeroed.raw'); // sparse: the 62 MiB that are there
    sh('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path, raw]);
    const groups = groupLines(raw);
    sh('rm', ['-f', raw]);
    expect(groups.length).toBe(40_000);
    // Without it (mkfs -E nodiscard did that), ext4lazyinit writes 40 GiB of zeros in the guest.
    expect(groups.filter((l) => !l.includes('ITABLE_ZEROED'))).toEqual([]);
  });

  it('prints JSON events and a result with --json', () => {
    const path = join(tmp.path, 'json.qcow2');
    const r = runCli(['create', '--json', path, '200G'], {env});
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.some((e) => e.type === 'command-start' && e.argv[0] === 'mkfs.ext4')).toBe(true);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    const result = events.find((e) => e.type === 'result');
    expect(result).toMatchObject({ok: true, path, virtualSize: 200 * 2 ** 30, label: 'tdx-cache', method: 'offline'});
  });

  it('honours --label and warns that the guest wants tdx-cache', () => {
    const path = join(tmp.path, 'other-label.qcow2');
    const r = runCli(['create', '--label', 'scratch', '--force-small', path, '1G'], {env});
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/guest only accepts a cache volume labelled "tdx-cache"/);
    expect(filesystemOf(path).blkid.LABEL).toBe('scratch');
  });

  it('plans without touching anything in --dry-run, as a shell script', () => {
    const dir = join(tmp.path, 'dry');
    mkdirSync(dir);
    const before = snapshot(dir);
    const scratch = join(tmp.path, 'dry-scratch');
    mkdirSync(scratch);
    const r = runCli(['create', '--dry-run', join(dir, 'v.qcow2'), '5T'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^#!\/bin\/sh/);
    expect(r.stdout).toContain(`mktemp -d ${scratch}/tdx-wizard-raw-`);
    expect(r.stdout).toMatch(new RegExp(`mkfs.ext4 -F -L tdx-cache -E packed_meta_blocks=1 -- ${scratch}/tdx-wizard-raw-\\d+-XXXXXX/filesystem.raw`));
    expect(r.stdout).toMatch(new RegExp(`qemu-img convert -p -m 1 -f raw -O qcow2 -- \\S+ ${dir}/.v.qcow2.tdx-wizard-\\d+/volume.qcow2`));
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('prints a replayable script of what it did with --transcript-format sh', () => {
    const path = join(tmp.path, 'replay.qcow2');
    const r = runCli(['create', '--transcript-format', 'sh', '--force-small', path, '1G'], {env});
    expect(r.code).toBe(0);
    const script = r.stdout.slice(r.stdout.indexOf('#!/bin/sh'));
    expect(script).toContain('truncate -s 1073741824 --'); // the sparse raw file, made in-process
    // Published with a hard link onto the freed name (never replacing a file), then the work copy removed.
    expect(script).toContain(`rm -f -- "$2" && ln -- "$1" "$2" && rm -f -- "$1"' publish ${tmp.path}/.replay.qcow2.tdx-wizard-`);
  });
});

describe('create makes its throwaway raw file in memory (src/volume/scratch.ts)', () => {
  it('in the scratch directory, private, removed once converted; the volume is the same', () => {
    const scratch = join(tmp.path, 'scratch-ok');
    mkdirSync(scratch);
    const path = join(tmp.path, 'scratch-ok.qcow2');
    const r = runCli(['--json', 'create', path, '5000G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code, r.stderr).toBe(0);
    const argv = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === 'command-start').map((e) => e.argv.join(' '));
    expect(argv.find((a) => a.startsWith('mkfs.ext4'))).toMatch(new RegExp(`-- ${scratch}/tdx-wizard-raw-${'\\d+'}-\\w{6}/filesystem.raw$`));
    expect(argv.find((a) => a.startsWith('qemu-img convert'))).toMatch(new RegExp(`${scratch}/tdx-wizard-raw-\\S+/filesystem.raw ${tmp.path}/.scratch-ok.qcow2.tdx-wizard-\\d+/volume.qcow2$`));
    expect(readdirSync(scratch)).toEqual([]);
    expect(runCli(['verify', path], {env}).code).toBe(0);
  });

  it('beside the volume when TDX_WIZARD_SCRATCH_DIR is empty', () => {
    const path = join(tmp.path, 'scratch-none.qcow2');
    const r = runCli(['--json', 'create', path, '5000G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: ''}});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`"mkfs.ext4","-F","-L","tdx-cache","-E","packed_meta_blocks=1","--","${tmp.path}/.scratch-none.qcow2.tdx-wizard-`);
    expect(r.stdout).not.toContain('"mktemp"'); // no scratch directory made
  });

  it('a failing mkfs.ext4 leaves nothing in the scratch directory', () => {
    const scratch = join(tmp.path, 'scratch-fail');
    const bin = join(tmp.path, 'bin-scratch-fail');
    mkdirSync(scratch);
    mkdirSync(bin);
    writeFileSync(join(bin, 'mkfs.ext4'), '#!/bin/sh\necho "mkfs.ext4: broken on purpose" >&2\nexit 1\n', {mode: 0o755});
    const path = join(tmp.path, 'scratch-fail.qcow2');
    const r = runCli(['create', path, '5000G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: scratch, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code).toBe(1);
    expect(readdirSync(scratch)).toEqual([]);
    expect(existsSync(path)).toBe(false);
  });

  it("removes the raw file a killed create left (its pid is gone), says so, and leaves a live one's alone", () => {
    const scratch = join(tmp.path, 'scratch-left');
    mkdirSync(join(scratch, 'tdx-wizard-raw-999999-AbCdEf'), {recursive: true});
    writeFileSync(join(scratch, 'tdx-wizard-raw-999999-AbCdEf', 'filesystem.raw'), 'x');
    mkdirSync(join(scratch, `tdx-wizard-raw-${process.pid}-LiVeOn`)); // this test process: alive
    mkdirSync(join(scratch, 'unrelated'));
    const r = runCli(['create', join(tmp.path, 'scratch-left.qcow2'), '5000G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: scratch}});
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/a create \(pid 999999\) was killed before it could clean up: removed its raw file in \S+tdx-wizard-raw-999999-AbCdEf/);
    expect(readdirSync(scratch).sort()).toEqual([`tdx-wizard-raw-${process.pid}-LiVeOn`, 'unrelated']);
  });
});

describe('create leaves the volume on disk, not only in the page cache', () => {
  it('fdatasyncs the volume after qemu-img convert (which does not), and fsyncs the directory after the link', () => {
    requireTools('strace');
    const path = join(tmp.path, 'durable.qcow2');
    const log = join(tmp.path, 'durable.strace');
    // -y names each descriptor's file; -f follows the tools (and qemu-img's threads).
    sh('strace', ['-f', '-y', '-e', 'trace=fdatasync,fsync,link,linkat,execve', '-e', 'signal=none', '-o', log, process.execPath, CLI, 'create', path, '5000G'], {env: {...process.env, ...env}});
    // Each line is "PID  call"; a call another thread interrupts is split in "<unfinished ...>" and "<... resumed>".
    const lines = readFileSync(log, 'utf8')
      .split('\n')
      .map((l) => /^(\d+)\s+(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({pid: m[1]!, call: m[2]!}));
    const after = (from: number, test: (l: {pid: string; call: string}) => boolean) => lines.findIndex((l, i) => i > from && test(l));
    const convertPid = lines.find((l) => /^execve\("[^"]*qemu-img", \["qemu-img", "convert"/.test(l.call))?.pid;
    const convertEnd = after(-1, (l) => l.pid === convertPid && l.call.startsWith('+++ exited with 0'));
    const syncStart = after(convertEnd, (l) => l.call.startsWith('fdatasync(') && l.call.includes('/.durable.qcow2.tdx-wizard-') && l.call.includes('/volume.qcow2>'));
    const syncer = lines[syncStart]?.pid;
    const synced = after(syncStart - 1, (l) => l.pid === syncer && l.call.includes('fdatasync') && l.call.endsWith('= 0'));
    const linked = after(-1, (l) => /^link(at)?\(.*volume\.qcow2.*durable\.qcow2"/.test(l.call) && l.call.endsWith('= 0'));
    const dirSynced = after(linked, (l) => l.call.startsWith('fsync(') && l.call.includes(`<${tmp.path}>) = 0`));
    expect(convertEnd, 'qemu-img convert ran').toBeGreaterThan(0);
    expect(syncStart, 'the volume fdatasynced once qemu-img convert had ended').toBeGreaterThan(convertEnd);
    expect(synced, 'the fdatasync done').toBeGreaterThanOrEqual(syncStart);
    expect(linked, 'then linked at its name').toBeGreaterThan(synced);
    expect(dirSynced, 'then the directory fsynced').toBeGreaterThan(linked);
  });
});

describe('create where the file system cannot hold a sparse file of that size', () => {
  it('ext4 with 1 KiB blocks (4 TiB files at most): says why and what to do, exit 1, nothing left', () => {
    requireTools('mount', 'umount');
    const image = join(tmp.path, 'small-blocks.img');
    const mnt = join(tmp.path, 'small-blocks');
    mkdirSync(mnt);
    sh('truncate', ['-s', '3G', image]); // sparse: room for the raw file and the volume beside it
    sh('mkfs.ext4', ['-q', '-b', '1024', image]);
    sh('mount', ['-o', 'loop', image, mnt]); // root and a loop device (util-linux, mount)
    try {
      const path = join(mnt, 'v.qcow2');
      const r = runCli(['create', path, '5000G'], {env: {...env, TDX_WIZARD_SCRATCH_DIR: ''}});
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${mnt} cannot hold a sparse file of 5000G (its file system limits file size, or ulimit -f does)`);
      expect(r.stderr).toContain('create the volume in a directory on XFS or ext4 with 4 KiB blocks, or use --method nbd');
      expect(readdirSync(mnt)).toEqual(['lost+found']);
    } finally {
      sh('umount', [mnt]);
    }
  });
});

describe('create puts the volume in place only over its own reservation', () => {
  it('a file put at the name while the volume was made is left alone: exit 1, no volume, no work directory', () => {
    const bin = join(tmp.path, 'bin-swap');
    mkdirSync(bin);
    const path = join(tmp.path, 'swapped.qcow2');
    // qemu-img info runs last, just before the volume is put in place: someone else takes the name then.
    const real = sh('sh', ['-c', 'command -v qemu-img']).trim();
    writeFileSync(join(bin, 'qemu-img'), `#!/bin/sh\nif [ "$1" = info ]; then rm -f '${path}'; echo theirs > '${path}'; fi\nexec ${real} "$@"\n`, {mode: 0o755});
    const r = runCli(['create', path, '5000G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`${path} was replaced by something else while the volume was being made; it was left alone`);
    expect(readFileSync(path, 'utf8')).toBe('theirs\n');
    expect(readdirSync(tmp.path).filter((f) => f.includes('swapped'))).toEqual(['swapped.qcow2']); // no work directory
  });
});

describe('create refuses bad input: exit 2, a message with a fix, nothing changed', () => {
  const cases: Array<[string, (dir: string) => string[], RegExp]> = [
    ['size 0', (d) => ['create', join(d, 'a.qcow2'), '0'], /size "0" is zero/],
    ['negative size', (d) => ['create', join(d, 'a.qcow2'), '--', '-5G'], /negative/],
    ['fraction', (d) => ['create', join(d, 'a.qcow2'), '1.5T'], /fraction/],
    ['GB unit', (d) => ['create', join(d, 'a.qcow2'), '10GB'], /ambiguous/],
    ['GiB unit', (d) => ['create', join(d, 'a.qcow2'), '10GiB'], /ambiguous/],
    ['words', (d) => ['create', join(d, 'a.qcow2'), 'big'], /not a size/],
    ['under 100G', (d) => ['create', join(d, 'a.qcow2'), '50G'], /under 100G.*--force-small/s],
    ['over the qcow2 limit', (d) => ['create', join(d, 'a.qcow2'), '3P'], /larger than a qcow2 image can be/],
    ['bytes not a multiple of 512', (d) => ['create', join(d, 'a.qcow2'), '107374182401'], /multiple of 512/],
    ['label too long', (d) => ['create', '--label', 'tdx-cache-storage', join(d, 'a.qcow2'), '100G'], /17 bytes.*"tdx-cache-storag"/s],
    ['empty label', (d) => ['create', '--label', '', join(d, 'a.qcow2'), '100G'], /label is empty/],
    ['label with newline', (d) => ['create', '--label', 'a\nb', join(d, 'a.qcow2'), '100G'], /control character/],
    ['nbd: protocol', () => ['create', 'nbd:localhost:10809', '100G'], /qemu protocol name/],
    ['json: protocol', () => ['create', 'json:{"file":1}', '100G'], /qemu protocol name/],
    ['existing file', (d) => ['create', join(d, 'existing.qcow2'), '100G'], /already exists/],
    ['symlink', (d) => ['create', join(d, 'link.qcow2'), '100G'], /symbolic link/],
    ['dangling symlink', (d) => ['create', join(d, 'dangling.qcow2'), '100G'], /symbolic link/],
    ['directory', (d) => ['create', join(d, 'subdir'), '100G'], /is a directory/],
    ['device', () => ['create', '/dev/null', '100G'], /character device/],
    ['missing parent without a terminal', (d) => ['create', join(d, 'nope', 'a.qcow2'), '100G'], /does not exist.*--create-parent/s],
    ['bad method', (d) => ['create', '--method', 'magic', join(d, 'a.qcow2'), '100G'], /magic/],
    ['missing path', () => ['create'], /needs the new volume's path, or --vm HOSTNAME.*fix: tdx-wizard create/s],
    ['path with newline', (d) => ['create', join(d, 'a\nb.qcow2'), '100G'], /control character/],
  ];

  let dir: string;
  beforeAll(() => {
    dir = join(tmp.path, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'existing.qcow2'), 'precious');
    writeFileSync(join(dir, 'precious.txt'), 'precious');
    symlinkSync(join(dir, 'precious.txt'), join(dir, 'link.qcow2'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling.qcow2'));
    mkdirSync(join(dir, 'subdir'));
  });

  for (const [name, args, message] of cases) {
    it(name, () => {
      const before = snapshot(dir);
      const r = runCli(args(dir), {env});
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(snapshot(dir)).toEqual(before);
    });
  }

  it('a directory it cannot write: permission denied (as a user without root)', () => {
    const ro = join(tmp.path, 'readonly');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    // root ignores mode bits, so run as nobody when we are root
    const asNobody = process.getuid?.() === 0;
    const r = asNobody
      ? (() => {
          chmodSync(tmp.path, 0o755);
          const out = sh('sh', ['-c', `setpriv --reuid=65534 --regid=65534 --clear-groups env TDX_WIZARD_STATE_DIR=/tmp/tdxw-nobody-state ${process.execPath} dist/cli.js create ${ro}/a.qcow2 100G 2>&1; echo "exit=$?"`]);
          return {code: Number(/exit=(\d+)/.exec(out)![1]), stderr: out};
        })()
      : runCli(['create', join(ro, 'a.qcow2'), '100G'], {env});
    expect(r.stderr).toMatch(/permission denied.*run as root/s);
    expect(r.code).toBe(2);
    expect(readdirSync(ro)).toEqual([]);
  });
});

describe('create cleans up after failures and cancellation', () => {
  /** A directory of stand-in tools placed first on PATH. */
  function fakeBin(name: string, script: string): string {
    const bin = join(tmp.path, `bin-${name}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(bin);
    writeFileSync(join(bin, name), `#!/bin/sh\n${script}\n`, {mode: 0o755});
    return bin;
  }

  it('a failing mkfs.ext4 leaves no file behind and names the step', () => {
    const dir = join(tmp.path, 'fail-mkfs');
    mkdirSync(dir);
    const bin = fakeBin('mkfs.ext4', 'echo "mkfs.ext4: Input/output error while writing inode table" >&2; exit 1');
    const r = runCli(['create', join(dir, 'v.qcow2'), '100G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Format ext4, label tdx-cache failed \(exit code 1\)/);
    expect(r.stderr).toContain('Input/output error while writing inode table');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failing qemu-img convert leaves no file behind', () => {
    const dir = join(tmp.path, 'fail-convert');
    mkdirSync(dir);
    const real = sh('sh', ['-c', 'command -v qemu-img']).trim();
    const bin = fakeBin('qemu-img', `if [ "$1" = convert ]; then echo "qemu-img: error while writing at byte 0: No space left on device" >&2; exit 1; fi; exec ${real} "$@"`);
    const r = runCli(['create', join(dir, 'v.qcow2'), '100G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('No space left on device');
    expect(readdirSync(dir)).toEqual([]);
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} during mkfs kills the tool, removes the half-made file, exits 128+n`, async () => {
      const dir = join(tmp.path, `cancel-${signal}`);
      mkdirSync(dir);
      const pidFile = join(dir, '..', `mkfs-${signal}.pid`);
      const bin = fakeBin('mkfs.ext4', `echo $$ > ${pidFile}; echo "Writing inode tables:    0/1600"; exec sleep 60`);
      const run = startCli(['create', join(dir, 'v.qcow2'), '100G'], {env: {...env, PATH: `${bin}:${process.env.PATH}`}});
      const deadline = Date.now() + 20_000;
      while (!existsSync(pidFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      const toolPid = Number(readFileSync(pidFile, 'utf8'));
      run.child.kill(signal);
      const result = await run.done;
      expect(result.code).toBe({SIGINT: 130, SIGTERM: 143, SIGHUP: 129}[signal]);
      expect(existsSync(`/proc/${toolPid}`)).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    });
  }
});

describe('create --method nbd on a host without the nbd module', () => {
  it('says so before anything is written: exit 2, no file at the name', async () => {
    const {FakeHost, FAKE_BIN} = await import('./helpers/fake-host.js');
    const host = new FakeHost({module: 'missing', devices: 0});
    try {
      const path = join(tmp.path, 'nbd-no-module.qcow2');
      const r = runCli(['create', '--method', 'nbd', path, '5000G'], {env: {...env, ...host.env, FAKE_MODPROBE: 'missing', PATH: `${FAKE_BIN}:${process.env.PATH}`}});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/this kernel has no nbd module .*nothing was made/);
      expect(r.stderr).toMatch(/fix: leave out --method nbd/);
      expect(existsSync(path)).toBe(false);
      expect(host.log().some((l) => l.startsWith('qemu-img') || l.includes('qemu-nbd'))).toBe(false);
    } finally {
      await host.remove();
    }
  });
});
