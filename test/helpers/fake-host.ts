// Builds a fake host: sysfs, procfs, /dev, /run and /etc trees in a temporary directory, with NBD
// devices in any state. The stand-in programs in test/fixtures/bin read and change the same trees
// (through the TDX_WIZARD_*_ROOT variables in `env`) and log every argv to `logFile`.
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join, resolve} from 'node:path';
import type {Roots} from '../../src/host/roots.js';
import {tempDir} from './tools.js';

export const FAKE_BIN = resolve('test/fixtures/bin');

export type FakeState = 'free' | 'connected' | 'stale' | 'stuck' | 'held' | 'mounted';

export interface FakeDevice {
  state: FakeState;
  /** The image a connected/stale device serves. */
  image?: string;
  sizeBytes?: number;
  partitions?: number;
  /** For 'held': the holder's name (default dm-0). */
  holder?: string;
  /** For 'mounted': where (default /mnt/cache). */
  mountpoint?: string;
}

export interface FakeHostOptions {
  /** A number of free devices, or each device's state. Default 4 free. */
  devices?: number | FakeDevice[];
  module?: 'loaded' | 'missing';
  nbdsMax?: number;
  maxPart?: number;
  kvm?: boolean;
  fuse?: boolean;
  /** The kvm_intel tdx parameter; undefined: the file does not exist. */
  tdx?: string;
}

export class FakeHost {
  readonly root: string;
  readonly roots: Roots;
  readonly logFile: string;
  readonly env: Record<string, string>;
  private readonly tmp = tempDir('tdxw-host-');

  constructor(options: FakeHostOptions = {}) {
    this.root = this.tmp.path;
    const [sys, proc, dev, run, etc, v] = ['sys', 'proc', 'dev', 'run', 'etc', 'var'].map((d) => join(this.root, d)) as [string, string, string, string, string, string];
    this.roots = {sys, proc, dev, run, etc, var: v};
    this.logFile = join(this.root, 'commands.log');
    this.env = {
      TDX_WIZARD_SYS_ROOT: sys,
      TDX_WIZARD_PROC_ROOT: proc,
      TDX_WIZARD_DEV_ROOT: dev,
      TDX_WIZARD_RUN_ROOT: run,
      TDX_WIZARD_ETC_ROOT: etc,
      TDX_WIZARD_VAR_ROOT: v,
      FAKE_HOST_LOG: this.logFile,
    };
    for (const d of [join(sys, 'block'), join(sys, 'module'), join(proc, 'self'), dev, run, etc]) mkdirSync(d, {recursive: true});
    writeFileSync(join(proc, '.next-pid'), '91000');
    writeFileSync(join(proc, 'self', 'mountinfo'), '22 1 0:21 / / rw,relatime - overlay overlay rw\n');
    writeFileSync(this.logFile, '');
    if (options.kvm !== false) writeFileSync(join(dev, 'kvm'), '');
    if (options.fuse !== false) writeFileSync(join(dev, 'fuse'), '');
    if (options.tdx !== undefined) this.write('sys/module/kvm_intel/parameters/tdx', `${options.tdx}\n`);
    const devices = options.devices ?? 4;
    const specs: FakeDevice[] = typeof devices === 'number' ? Array.from({length: devices}, () => ({state: 'free'})) : devices;
    if (options.module !== 'missing') {
      this.write('sys/module/nbd/parameters/nbds_max', `${options.nbdsMax ?? specs.length}\n`);
      this.write('sys/module/nbd/parameters/max_part', `${options.maxPart ?? 8}\n`);
      specs.forEach((spec, i) => this.addDevice(i, spec));
    }
  }

  write(relative: string, content: string): string {
    const path = join(this.root, relative);
    mkdirSync(join(path, '..'), {recursive: true});
    writeFileSync(path, content);
    return path;
  }

  /** A fake process: <proc>/PID with its cmdline. */
  addProcess(argv: string[]): number {
    const next = join(this.roots.proc, '.next-pid');
    const pid = Number(readFileSync(next, 'utf8'));
    writeFileSync(next, String(pid + 1));
    this.write(`proc/${pid}/cmdline`, `${argv.join('\0')}\0`);
    return pid;
  }

  killProcess(pid: number): void {
    rmSync(join(this.roots.proc, String(pid)), {recursive: true, force: true});
  }

  alive(pid: number): boolean {
    return existsSync(join(this.roots.proc, String(pid)));
  }

  addDevice(index: number, spec: FakeDevice): void {
    const name = `nbd${index}`;
    const dir = `sys/block/${name}`;
    const size = spec.state === 'free' || spec.state === 'held' ? 0 : (spec.sizeBytes ?? 2 ** 30);
    this.write(`${dir}/size`, `${size / 512}\n`);
    this.write(`${dir}/dev`, `43:${index * 16}\n`);
    mkdirSync(join(this.root, dir, 'holders'), {recursive: true});
    this.write(`dev/${name}`, '');
    for (let p = 1; p <= (spec.partitions ?? 0); p++) {
      this.write(`${dir}/${name}p${p}/dev`, `43:${index * 16 + p}\n`);
      this.write(`${dir}/${name}p${p}/size`, `${size / 512 / 2}\n`);
      mkdirSync(join(this.root, dir, `${name}p${p}`, 'holders'), {recursive: true});
    }
    const image = spec.image ?? `/srv/volumes/${name}.qcow2`;
    if (spec.state === 'connected' || spec.state === 'mounted' || spec.state === 'stale') {
      const pid = this.addProcess(['qemu-nbd', `--connect=${this.roots.dev}/${name}`, '--format=qcow2', '--', image]);
      this.write(`${dir}/pid`, `${pid}\n`);
      if (spec.state === 'stale') this.killProcess(pid);
    }
    if (spec.state === 'held') this.write(`${dir}/holders/${spec.holder ?? 'dm-0'}`, '');
    if (spec.state === 'mounted') this.mount(`/dev/${name}`, `43:${index * 16}`, spec.mountpoint ?? '/mnt/cache');
  }

  mount(source: string, majMin: string, target: string): void {
    const file = join(this.roots.proc, 'self', 'mountinfo');
    const escaped = target.replace(/ /g, '\\040');
    writeFileSync(file, `${readFileSync(file, 'utf8')}99 22 ${majMin} / ${escaped} rw,relatime shared:9 - ext4 ${source} rw\n`);
  }

  /** The pid sysfs shows for a device, if any. */
  sysfsPid(name: string): number | undefined {
    const path = join(this.roots.sys, 'block', name, 'pid');
    return existsSync(path) ? Number(readFileSync(path, 'utf8')) : undefined;
  }

  sysfsSize(name: string): number {
    return Number(readFileSync(join(this.roots.sys, 'block', name, 'size'), 'utf8')) * 512;
  }

  /** Every command the stand-ins ran, one argv a line. */
  log(): string[] {
    return readFileSync(this.logFile, 'utf8').split('\n').filter(Boolean);
  }

  /** Waits until the stand-ins' delayed actions have run (so nothing is left behind). */
  async settle(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (readdirSync(this.roots.proc).some((f) => f.startsWith('.pending-'))) {
      if (Date.now() > deadline) throw new Error('a stand-in\'s delayed action did not finish');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async remove(): Promise<void> {
    if (!existsSync(this.root)) return;
    await this.settle();
    this.tmp.remove();
  }
}

/** Puts the stand-ins first on PATH and the fake roots in the environment; returns the undo. */
export function useFakeHost(host: FakeHost, extra: Record<string, string> = {}): () => void {
  const saved = {...process.env};
  Object.assign(process.env, host.env, extra, {PATH: `${FAKE_BIN}:${process.env.PATH}`});
  return () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}
