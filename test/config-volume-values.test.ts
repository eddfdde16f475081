// The config volume's values (checked by the guest's rules), its files (byte for byte as upstream's
// create-config.sh writes them: its own heredoc is read from the verbatim copy), and the ext4 reader
// that reads a volume back, compared with debugfs on real filesystems.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {openImage} from '../src/disk/qcow2.js';
import {readExt4Root} from '../src/config-volume/ext4-read.js';
import {netplan, renderConfigFiles} from '../src/config-volume/render.js';
import {checkConfigValues, type RawConfigValues} from '../src/config-volume/values.js';
import {TEST_SEED, TEST_SS58} from './helpers/reliability.js';
import {requireTools, sh, tempDir} from './helpers/tools.js';

const GOOD: RawConfigValues = {hostname: 'miner-01', minerSs58: TEST_SS58, minerSeed: TEST_SEED, vmIp: '192.168.100.2', vmGateway: '192.168.100.1'};

function errorOf(raw: RawConfigValues) {
  const r = checkConfigValues(raw);
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('accepted');
  expect(r.errors).toHaveLength(1);
  const [e] = r.errors;
  expect(e!.fix).toBeTruthy();
  expect(e!.message + e!.fix).not.toContain(TEST_SEED.slice(0, 20));
  return e!;
}

describe('checkConfigValues', () => {
  it('accepts good values and fills in the default DNS', () => {
    const r = checkConfigValues(GOOD);
    expect(r.ok && r.value).toEqual({hostname: 'miner-01', minerSs58: TEST_SS58, minerSeed: TEST_SEED, vmIp: '192.168.100.2', vmGateway: '192.168.100.1', vmDns: '8.8.8.8'});
  });
  it('strips a leading 0x or 0X from the seed and says so', () => {
    for (const prefix of ['0x', '0X']) {
      const r = checkConfigValues({...GOOD, minerSeed: `${prefix}${TEST_SEED}`});
      expect(r.ok && r.value.minerSeed).toBe(TEST_SEED);
      expect(r.ok && r.notes.join(' ')).toMatch(/removed the "0x".*guest/);
    }
  });
  it('refuses a seed of 63 characters, and one that is not hex', () => {
    expect(errorOf({...GOOD, minerSeed: TEST_SEED.slice(1)}).message).toMatch(/63 hex characters; it needs exactly 64/);
    expect(errorOf({...GOOD, minerSeed: `${TEST_SEED.slice(1)}g`}).message).toMatch(/not hex at position 64/);
  });
  it('refuses an upper-case hostname (fix: the lower-case one) and one of 64 characters', () => {
    const upper = errorOf({...GOOD, hostname: 'Miner-01'});
    expect(upper.flag).toBe('--hostname');
    expect(upper.fix).toContain('miner-01');
    expect(errorOf({...GOOD, hostname: 'a'.repeat(64)}).message).toMatch(/64 characters long.*63/);
    expect(checkConfigValues({...GOOD, hostname: 'a'.repeat(63)}).ok).toBe(true);
  });
  it('refuses bad IPv4 addresses for the VM, the gateway and DNS', () => {
    expect(errorOf({...GOOD, vmIp: '192.168.100.256'}).flag).toBe('--vm-ip');
    expect(errorOf({...GOOD, vmGateway: '192.168.100'}).flag).toBe('--vm-gateway');
    expect(errorOf({...GOOD, vmDns: 'dns.google'}).flag).toBe('--vm-dns');
    expect(errorOf({...GOOD, vmGateway: '192.168.100.2'}).message).toMatch(/VM's own address/);
  });
  it('warns, without refusing, about a gateway outside the VM\'s /24', () => {
    const r = checkConfigValues({...GOOD, vmGateway: '10.0.0.1'});
    expect(r.ok && r.warnings.join(' ')).toMatch(/outside the VM's network 192.168.100.0\/24/);
  });
  it('refuses an SS58 address the guest would refuse (not starting with 5)', () => {
    expect(errorOf({...GOOD, minerSs58: '15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5'}).message).toMatch(/starts with "1"/);
    expect(errorOf({...GOOD, minerSs58: `${TEST_SS58.slice(0, -1)}Z`}).flag).toBe('--miner-ss58');
  });
  it('takes the Docker Hub user and token together or not at all', () => {
    expect(errorOf({...GOOD, dockerHubUsername: 'hubuser'}).message).toMatch(/go together/);
    const r = checkConfigValues({...GOOD, dockerHubUsername: 'hubuser', dockerHubToken: 'dckr_pat_x'});
    expect(r.ok && r.value.dockerHub).toEqual({username: 'hubuser', token: 'dckr_pat_x'});
  });
  it('lists every wrong or missing value at once', () => {
    const r = checkConfigValues({hostname: 'Bad_Name', minerSeed: 'xyz'});
    expect(r.ok ? [] : r.errors.map((e) => e.flag).sort()).toEqual(['--hostname', '--miner-seed-file', '--miner-ss58', '--vm-gateway', '--vm-ip']);
  });
});

/** The netplan heredoc of upstream's script, with its variables filled in as bash would. */
function upstreamNetplan(script: string, ip: string, gw: string, dns: string): string {
  const text = readFileSync(join('test/fixtures/upstream-config', script), 'utf8');
  const body = /network-config\.yaml" << EOF\n([\s\S]*?)\nEOF\n/.exec(text)?.[1];
  expect(body, `the heredoc in ${script}`).toBeDefined();
  return `${body!.replace('${VM_IP}', ip).replace('${VM_GATEWAY}', gw).replace('${VM_DNS}', dns)}\n`;
}

describe('renderConfigFiles', () => {
  const values = {hostname: 'miner-01', minerSs58: TEST_SS58, minerSeed: TEST_SEED, vmIp: '192.168.100.2', vmGateway: '192.168.100.1', vmDns: '1.1.1.1'};
  it('writes what echo writes (a newline after each value) with upstream\'s modes', () => {
    const files = renderConfigFiles(values);
    expect(files.map((f) => [f.name, f.mode.toString(8), f.content.length])).toEqual([
      ['hostname', '644', 9],
      ['miner-ss58', '600', 49],
      ['miner-seed', '600', 65],
      ['network-config.yaml', '644', 253],
    ]);
    expect(files[0]!.content).toBe('miner-01\n');
    expect(files[2]!.content).toBe(`${TEST_SEED}\n`);
    expect(files.filter((f) => f.secret).map((f) => f.name)).toEqual(['miner-seed']);
  });
  it('writes the netplan file exactly as the heredoc of every upstream era', () => {
    for (const script of ['create-config.doc-era.sh', 'create-config.newest.sh']) {
      expect(netplan('192.168.100.2', '192.168.100.1', '1.1.1.1')).toBe(upstreamNetplan(script, '192.168.100.2', '192.168.100.1', '1.1.1.1'));
    }
  });
  it('adds the newest guests\' Docker Hub files without a newline (printf %s), 0600', () => {
    const files = renderConfigFiles({...values, dockerHub: {username: 'hubuser', token: 'dckr_pat_x'}});
    expect(files.slice(4).map((f) => [f.name, f.mode.toString(8), f.content, f.secret])).toEqual([
      ['docker-hub-username', '600', 'hubuser', false],
      ['docker-hub-token', '600', 'dckr_pat_x', true],
    ]);
  });
});

describe('readExt4Root', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    requireTools('mkfs.ext4', 'debugfs', 'qemu-img');
    tmp = tempDir('tdxw-ext4read-');
  });
  afterAll(() => tmp?.remove());

  /** debugfs's view: name -> "mode uid gid size". */
  function debugfsList(image: string): Map<string, string> {
    const out = sh('debugfs', ['-R', 'ls -l /', image]);
    const rows = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^\s*\d+\s+(\d+)\s+\(\d+\)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+(.+)$/.exec(line);
      if (m && m[5] !== '.' && m[5] !== '..') rows.set(m[5]!, `${Number.parseInt(m[1]!, 8)} ${m[2]} ${m[3]} ${m[4]}`);
    }
    return rows;
  }

  for (const kind of ['small files', 'a large file and a directory of 300 entries'] as const) {
    it(`lists the root and reads the files as debugfs does: ${kind} (1 KiB and 4 KiB blocks, qcow2)`, async () => {
      for (const blockSize of ['1024', '4096']) {
        const src = join(tmp.path, `${kind.length}-${blockSize}`);
        mkdirSync(join(src, 'root'), {recursive: true});
        writeFileSync(join(src, 'root', 'hostname'), 'miner-01\n', {mode: 0o644});
        writeFileSync(join(src, 'root', 'miner-seed'), `${TEST_SEED}\n`, {mode: 0o600});
        if (kind !== 'small files') {
          writeFileSync(join(src, 'root', 'large.bin'), Buffer.from(Array.from({length: 300_000}, (_, i) => (i * 7) % 251)));
          for (let i = 0; i < 300; i++) writeFileSync(join(src, 'root', `entry-with-a-long-name-${i}`), `${i}\n`);
        }
        const raw = join(src, 'fs.raw');
        sh('qemu-img', ['create', '-q', '-f', 'raw', raw, '16M']);
        sh('mkfs.ext4', ['-q', '-F', '-b', blockSize, '-d', join(src, 'root'), raw]);
        const qcow = join(src, 'fs.qcow2');
        sh('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
        const image = await openImage(qcow, {format: 'qcow2'});
        try {
          const fs = await readExt4Root(image);
          const mine = new Map(fs.entries.map((e) => [e.name, `${e.mode} ${e.uid} ${e.gid} ${e.size}`]));
          expect(mine).toEqual(debugfsList(raw));
          expect(fs.root.mode & 0o7777).toBe(0o755);
          for (const e of fs.entries.filter((x) => x.isFile)) {
            expect((await fs.read(e)).equals(readFileSync(join(src, 'root', e.name))), e.name).toBe(true);
          }
        } finally {
          await image.close();
        }
      }
    });
  }
});
