// What runs for real here (no nbd module needed): a real qemu-nbd serving a real qcow2 on a unix
// socket holds qemu's image lock like a connected device or a running VM does.
import {spawn, type ChildProcess} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {hostRoots} from '../src/host/roots.js';
import {attachImage} from '../src/nbd/attach.js';
import {imageInUse} from '../src/nbd/lock.js';
import {processAlive, processArgv, servedImage} from '../src/nbd/proc.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {FakeHost} from './helpers/fake-host.js';
import {ran} from './helpers/nbd-setup.js';
import {requireTools, sh, tempDir, toolPath} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
let image: string;
let server: ChildProcess | undefined;
let serverPid: number;
const realRoots = hostRoots({sys: '/sys', proc: '/proc', dev: '/dev', run: '/run', etc: '/etc', var: '/var'});

beforeAll(() => requireTools('qemu-img', 'qemu-nbd', 'qemu-io'));

/** qemu-nbd serving `image` on a unix socket, as a connected device or a VM would hold it. */
async function serve(): Promise<void> {
  const sock = join(tmp.path, 'nbd.sock');
  const pidFile = join(tmp.path, 'qemu-nbd.pid');
  server = spawn(toolPath('qemu-nbd'), ['--format=qcow2', '-k', sock, '--persistent', `--pid-file=${pidFile}`, image], {stdio: 'ignore'});
  const deadline = Date.now() + 10_000;
  while (!(existsSync(sock) && existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim())) {
    if (Date.now() > deadline) throw new Error('qemu-nbd did not start');
    await new Promise((r) => setTimeout(r, 25));
  }
  serverPid = Number(readFileSync(pidFile, 'utf8'));
}

async function stop(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM'); // graceful: qemu-nbd flushes the qcow2 metadata as it exits
  });
}

beforeEach(async () => {
  tmp = tempDir('tdxw-lock-');
  image = join(tmp.path, 'cache.qcow2');
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M']);
});
afterEach(async () => {
  await stop();
  tmp.remove();
});

describe('the image lock, with a real qemu-nbd', () => {
  it('imageInUse: qemu-img info without -U fails with the shared "write" lock error while served', async () => {
    const runner = new Runner({store: createAppStore()});
    expect(await imageInUse(runner, image)).toEqual({inUse: false});
    await serve();
    const held = await imageInUse(runner, image);
    expect(held.inUse).toBe(true);
    expect(held.detail).toBe(`Failed to get shared "write" lock: held by qemu-nbd (pid ${serverPid})`);
    // The probe never passes -U (that would skip the lock it is asking about).
    expect(ran(runner)).toEqual([`qemu-img info -f qcow2 --output=json -- ${image}`, `qemu-img info -f qcow2 --output=json -- ${image}`]);
    await stop();
    expect(await imageInUse(runner, image)).toEqual({inUse: false});
  });

  it('an image that is not what the format says is an error, not "free"', async () => {
    const runner = new Runner({store: createAppStore()});
    await expect(imageInUse(runner, join(tmp.path, 'missing.qcow2'))).rejects.toMatchObject({name: 'StepError', message: expect.stringContaining('could not open')});
  });

  it('attach refuses an image in use, before touching any device', async () => {
    await serve();
    const host = new FakeHost({devices: 2});
    try {
      const runner = new Runner({store: createAppStore()});
      await expect(attachImage(runner, image, {roots: host.roots})).rejects.toMatchObject({message: expect.stringMatching(/is in use: Failed to get shared "write" lock/), fix: expect.stringContaining('tdx-wizard nbd list')});
      expect(ran(runner).filter((c) => c.startsWith('qemu-nbd'))).toEqual([]);
    } finally {
      await host.remove();
    }
  });

  it('the real /proc: the server is alive and its cmdline names the image; gone after SIGTERM', async () => {
    await serve();
    expect(await processAlive(realRoots, serverPid)).toBe(true);
    expect(servedImage((await processArgv(realRoots, serverPid))!)).toBe(image);
    await stop();
    expect(await processAlive(realRoots, serverPid)).toBe(false);
  });

  it('SIGTERM (never SIGKILL) keeps what a client wrote and the server acknowledged', async () => {
    await serve();
    sh('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 1M', `nbd+unix:///?socket=${join(tmp.path, 'nbd.sock')}`]);
    await stop();
    expect(sh('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0x5a 0 1M', image])).toMatch(/read 1048576\/1048576 bytes/);
  });

  it('qemu-nbd really has the options the wizard passes', () => {
    const help = sh('qemu-nbd', ['--help']);
    for (const option of ['--connect=DEV', '--disconnect', '--format=FORMAT', '--pid-file=PATH']) expect(help).toContain(option);
  });
});
