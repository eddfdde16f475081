// Benchmarks 7, 8 and 9: the volume sets of issue 14.
//   7. `prepare` of a full E4 set (5000G cache + 500G storage + config volume) in a fresh
//      directory, against one 5000G `create` in the same run; and where prepare's time goes.
//   8. A raw 5000G ext4 and a raw 5000G XFS volume (`create --era E6 --fs ext4|xfs`), against
//      `truncate -s 5000G f && mkfs.ext4 -F f` (resp. `mkfs.xfs -f f`) by hand; and the disk each takes.
//   9. `verify` of the whole set, against `qemu-img info` of the three files and a read-only FUSE
//      export + `blkid -p` + teardown of each.
// Every reference waits for what its tool waits for: the exit of the command it ran, and for the
// FUSE teardown the pid file qemu-storage-daemon removes as it exits (never /proc/PID of the
// daemonized process: PID 1 reaps it up to 2 s later on these machines).
import {spawn} from 'node:child_process';
import {mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {allocated, CLI, fuseBlkid, median, MiB, PATH, sh, tempDir, timed} from './lib.mjs';

const ROUNDS = 7; // after one warm-up round, which is not counted
const SS58 = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const HOST = 'bench';

const spread = (values) => `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;
const msText = (values) => `${median(values).toFixed(0)} ms (${spread(values)})`;
const ratio = (a, b) => (median(a) / median(b)).toFixed(3);
const mib = (bytes) => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;
const GiB = 2 ** 30;
const sizeText = (bytes) => (bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : mib(bytes));

/** A seed file as an operator keeps one: 64 hex characters, mode 0600. */
function seedFile(dir) {
  const path = join(dir, 'miner-seed');
  writeFileSync(path, 'ab'.repeat(32), {mode: 0o600});
  return path;
}

function prepareArgs(dir, seed, json = false) {
  return ['prepare', ...(json ? ['--json'] : []), '--era', 'E4', '--dir', dir, '--hostname', HOST, '--miner-ss58', SS58, '--miner-seed-file', seed];
}

/** Each run gets its own directory, and the page cache written back before it (as benchmark 1). */
function fresh(root, name) {
  const dir = join(root, name);
  mkdirSync(dir);
  sh('sync', []);
  return dir;
}

function setBytes(dir) {
  return ['cache', 'storage', 'config'].reduce((sum, p) => sum + allocated(join(dir, `${p}-${HOST}.qcow2`)), 0);
}

// ---- 7: where prepare's time goes ---------------------------------------------------------------

/**
 * Runs the CLI with --json and timestamps every event as it arrives: the commands it runs (with
 * the durations it measured itself) and what lies between them (its own JavaScript, in-process
 * file work). Returns milliseconds per phase.
 */
export function profileRun(args, env, cli = CLI) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cli, args, {env: {...process.env, PATH, ...env}, stdio: ['ignore', 'pipe', 'ignore']});
    const events = [];
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      const at = performance.now() - start;
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) if (line) events.push({at, ...JSON.parse(line)});
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(phases(events, performance.now() - start)) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/** What kind of work a command is, for the breakdown. */
function kindOf(argv) {
  const [cmd, sub] = argv;
  if (cmd === 'mkfs.ext4' || cmd === 'mkfs.xfs') return 'mkfs';
  if (cmd === 'qemu-img') return sub === 'convert' ? 'convert' : 'qemu-img info';
  if (cmd === 'sync') return sub === '--data' ? 'flush' : 'dir fsync';
  if (cmd === 'debugfs') return 'debugfs';
  if (cmd === 'fallocate') return 'punch';
  return 'other';
}

/**
 * Phases, in wall milliseconds: the start (spawn to the first event: Node, loading, planning, the
 * checks before anything is touched), each part (from its reservation to the next part's), and the
 * tail (the last command's end to the exit: the set check, remembering the era, exiting). Inside a
 * part, each kind of command's own duration (the flush overlaps the check that follows it) and
 * "own", the part's time in no command at all.
 */
function phases(events, end) {
  const out = {total: end, start: events[0]?.at ?? end};
  const parts = [];
  const open = new Map();
  for (const e of events) {
    if (e.type === 'command-start') {
      if (/^Reserve /.test(e.title)) {
        const name = e.argv.at(-1).split('/').pop();
        parts.push({name: /^config-/.test(name) ? 'config' : /^storage-/.test(name) ? 'storage' : 'cache', from: e.at, spans: [], kinds: {}});
      }
      open.set(e.id, {...e, part: parts.at(-1)});
    } else if (e.type === 'command-end' && open.has(e.id)) {
      const s = open.get(e.id);
      if (!s.part) continue;
      s.part.spans.push([s.at, e.at]);
      s.part.kinds[kindOf(s.argv)] = (s.part.kinds[kindOf(s.argv)] ?? 0) + e.durationMs;
      s.part.to = e.at;
    }
  }
  parts.forEach((p, i) => {
    const to = parts[i + 1]?.from ?? p.to;
    let covered = 0;
    let reach = p.from;
    for (const [a, b] of p.spans.sort((x, y) => x[0] - y[0])) {
      covered += Math.max(0, b - Math.max(a, reach));
      reach = Math.max(reach, b);
    }
    out[p.name] = to - p.from;
    for (const [k, v] of Object.entries(p.kinds)) out[`${p.name}: ${k}`] = v;
    out[`${p.name}: own`] = Math.max(0, to - p.from - covered);
  });
  out.tail = end - (parts.at(-1)?.to ?? out.start);
  return out;
}

/** The median of each phase over the profiled runs: one line for the table, the detail for the note and results.json. */
function summarise(profiles) {
  const keys = [...new Set(profiles.flatMap((p) => Object.keys(p)))];
  const med = Object.fromEntries(keys.map((k) => [k, Math.round(median(profiles.map((p) => p[k] ?? 0)))]));
  const parts = ['cache', 'storage', 'config'].filter((p) => p in med);
  const short = [`start ${med.start}`, ...parts.map((p) => `${p} ${med[p]}`), `tail ${med.tail}`].join(', ') + ` (of ${med.total})`;
  const detail = parts.map((p) => {
    const inner = Object.entries(med).filter(([k, v]) => k.startsWith(`${p}: `) && v > 0).sort((a, b) => b[1] - a[1]);
    return `${p} ${med[p]} (${inner.map(([k, v]) => `${k.slice(p.length + 2)} ${v}`).join(', ')})`;
  });
  return {short, text: [`start ${med.start}`, ...detail, `tail ${med.tail}`].join('; '), medians: med};
}

export async function benchPrepare() {
  const tmp = tempDir('tdxw-bench-prepare-');
  const env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state')};
  try {
    const seed = seedFile(tmp.path);
    const prepare = [];
    const create = [];
    const bytes = {};
    for (let i = -1; i < ROUNDS; i++) {
      // Alternate which goes first, so that neither always follows the other's write-back.
      const order = i % 2 ? ['create', 'prepare'] : ['prepare', 'create'];
      for (const what of order) {
        const dir = fresh(tmp.path, `${what}-${i + 1}`);
        if (what === 'prepare') {
          const ms = timed(CLI, prepareArgs(dir, seed), {env});
          if (i >= 0) prepare.push(ms);
          bytes.prepare = setBytes(dir);
        } else {
          const ms = timed(CLI, ['create', join(dir, 'x.qcow2'), '5000G'], {env});
          if (i >= 0) create.push(ms);
          bytes.create = allocated(join(dir, 'x.qcow2'));
        }
        rmSync(dir, {recursive: true, force: true});
      }
    }
    // Where the time goes: three more runs of each with --json, every event timestamped on arrival.
    const profiles = {prepare: [], create: []};
    for (let i = 0; i < 3; i++) {
      for (const what of ['prepare', 'create']) {
        const dir = fresh(tmp.path, `profile-${what}-${i}`);
        profiles[what].push(await profileRun(what === 'prepare' ? prepareArgs(dir, seed, true) : ['create', '--json', join(dir, 'cache-x.qcow2'), '5000G'], env));
        rmSync(dir, {recursive: true, force: true});
      }
    }
    const where = summarise(profiles.prepare);
    const whereCreate = summarise(profiles.create);
    const r = median(prepare) / median(create);
    return [
      {benchmark: '7 prepare E4 set (5000G+500G+config): time', wizard: `${msText(prepare)}; ${mib(bytes.prepare)} on disk`, reference: `${msText(create)} (one create 5000G; ${mib(bytes.create)})`, ratio: r.toFixed(3), target: '<= 1.5', pass: r <= 1.5},
      {
        benchmark: '7 prepare: where the time goes (ms)',
        wizard: where.short,
        reference: `create: ${whereCreate.short}`,
        ratio: '-',
        target: '-',
        pass: null,
        note: `7 where the time goes (ms; medians of 3 runs each with --json, every event timestamped as it arrived; "own": in no command)\n  prepare: ${where.text}\n  create:  ${whereCreate.text}`,
        profile: {prepare: where.medians, create: whereCreate.medians},
      },
    ];
  } finally {
    tmp.remove();
  }
}

// ---- 8: raw volumes against truncate + mkfs by hand -------------------------------------------------

const MKFS = {
  ext4: (f) => ['mkfs.ext4', ['-q', '-F', '-L', 'tdx-cache', f]],
  xfs: (f) => ['mkfs.xfs', ['-q', '-f', '-L', 'tdx-cache', f]],
};

/** `truncate -s 5000G f && mkfs.X ... f`, as an operator types it: the two commands' times. */
function byHand(fs, f) {
  const [cmd, args] = MKFS[fs](f);
  return timed('truncate', ['-s', '5000G', f]) + timed(cmd, args);
}

export async function benchRaw() {
  const tmp = tempDir('tdxw-bench-raw-');
  const env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state')};
  const rows = [];
  try {
    for (const fs of ['ext4', 'xfs']) {
      const wizard = [];
      const hand = [];
      const bytes = {};
      for (let i = -1; i < ROUNDS; i++) {
        const order = i % 2 ? ['hand', 'wizard'] : ['wizard', 'hand'];
        for (const who of order) {
          const dir = fresh(tmp.path, `${fs}-${who}-${i + 1}`);
          const file = join(dir, 'cache.raw');
          const ms = who === 'wizard' ? timed(CLI, ['create', '--era', 'E6', '--fs', fs, file, '5000G'], {env}) : byHand(fs, file);
          if (i >= 0) (who === 'wizard' ? wizard : hand).push(ms);
          bytes[who] = allocated(file);
          rmSync(dir, {recursive: true, force: true});
        }
      }
      const profiles = [];
      for (let i = 0; i < 3; i++) {
        const dir = fresh(tmp.path, `${fs}-profile-${i}`);
        profiles.push(await profileRun(['create', '--json', '--era', 'E6', '--fs', fs, join(dir, 'cache.raw'), '5000G'], env));
        rmSync(dir, {recursive: true, force: true});
      }
      const where = summarise(profiles);
      const r = median(wizard) / (median(hand) * 1.2);
      rows.push(
        {benchmark: `8 raw 5000G ${fs}: time`, wizard: msText(wizard), reference: `${msText(hand)} (truncate + mkfs.${fs} by hand)`, ratio: ratio(wizard, hand), target: '<= 1.2', pass: r <= 1, note: `8 raw ${fs}, where create's time goes (ms; medians of 3 runs with --json): ${where.text}`, profile: where.medians},
        {benchmark: `8 raw 5000G ${fs}: disk used`, wizard: sizeText(bytes.wizard), reference: sizeText(bytes.hand), ratio: (bytes.wizard / bytes.hand).toFixed(3), target: '-', pass: null},
      );
    }
    return rows;
  } finally {
    tmp.remove();
  }
}

// ---- 9: verify of the set -------------------------------------------------------------------------

export function benchSetVerify() {
  const tmp = tempDir('tdxw-bench-vset-');
  const env = {TDX_WIZARD_STATE_DIR: join(tmp.path, 'state')};
  try {
    const dir = fresh(tmp.path, 'set');
    timed(CLI, prepareArgs(dir, seedFile(tmp.path)), {env});
    const files = ['cache', 'storage', 'config'].map((p) => join(dir, `${p}-${HOST}.qcow2`));
    const wizard = [];
    const info = [];
    const fuse = [];
    for (let i = -1; i < ROUNDS + 2; i++) {
      const w = timed(CLI, ['verify', '--dir', dir, '--hostname', HOST, '--era', 'E4'], {env});
      const q = files.reduce((sum, f) => sum + timed('qemu-img', ['info', f]), 0);
      const b = files.reduce((sum, f, n) => sum + fuseBlkid(f, tmp.path, `${i + 1}-${n}`), 0);
      if (i < 0) continue;
      wizard.push(w);
      info.push(q);
      fuse.push(b);
    }
    const ms = median(wizard);
    return [
      {benchmark: '9 verify E4 set (3 volumes)', wizard: msText(wizard), reference: `${msText(info)} (qemu-img info x3)`, ratio: ratio(wizard, info), target: '< 250 ms', pass: ms < 250},
      {benchmark: '9 verify E4 set: against FUSE + blkid', wizard: `${ms.toFixed(0)} ms`, reference: `${msText(fuse)} (ro FUSE export + blkid -p + teardown, x3)`, ratio: ratio(wizard, fuse), target: '-', pass: null},
    ];
  } finally {
    sh('sh', ['-c', `grep -q ${tmp.path} /proc/self/mountinfo && fusermount3 -u ${tmp.path}/m-* 2>/dev/null; true`]);
    tmp.remove();
  }
}
