// create flushes the qcow2 to disk while qemu-img convert writes it (flows/create-io.ts), so the
// flush after convert waits only for what is left. Linux reports a write-back error once: an error
// one of those flushes saw must fail the create, as the final flush would have.
import {spawnSync} from 'node:child_process';
import {existsSync, mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {flushWhileWriting, writeToDisk} from '../flows/create-io.js';
import {convert, type CreateJob} from '../flows/create.js';
import type {StepEnv} from '../src/flow-runner.js';
import {Runner} from '../src/runner/runner.js';
import {createAppStore} from '../src/store.js';
import {tempDir} from './helpers/tools.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('tdxw-flush-');
});
afterAll(() => tmp.remove());

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('flushing while convert writes', () => {
  it('flushes the file again and again while the writer runs, once it exists, and stops when the writer ends', async () => {
    const path = join(tmp.path, 'grows.qcow2');
    let flushes = 0;
    const writer = later(30).then(() => writeFileSync(path, 'data')).then(() => later(60));
    const result = await flushWhileWriting(path, writer, 5, async (file) => {
      flushes++;
      await file.datasync();
    });
    expect(result).toBeUndefined();
    expect(flushes).toBeGreaterThan(2);
    const after = flushes;
    await later(30);
    expect(flushes).toBe(after); // nothing after the writer ended
  });

  it('a writer that fails ends the flushes too, with no error of theirs', async () => {
    const writer = later(20).then(() => Promise.reject(new Error('convert failed')));
    writer.catch(() => undefined);
    expect(await flushWhileWriting(join(tmp.path, 'never-made.qcow2'), writer, 5)).toBeUndefined();
  });

  it('the first failed flush is the result, and no flush follows it', async () => {
    const path = join(tmp.path, 'eio.qcow2');
    writeFileSync(path, 'data');
    let flushes = 0;
    const result = await flushWhileWriting(path, later(100), 5, async () => {
      flushes++;
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), {code: 'EIO'});
    });
    expect(result?.message).toMatch(/EIO/);
    expect(flushes).toBe(1);
  });

  it('the flush after convert fails with the error an earlier flush saw (Linux would not report it again)', async () => {
    const path = join(tmp.path, 'volume.qcow2');
    writeFileSync(path, 'data');
    const job = {format: 'qcow2', qcowPath: path, target: {dir: tmp.path}, earlyFlush: Promise.resolve(new Error('EIO: i/o error, fdatasync'))} as unknown as CreateJob;
    const env = {runner: new Runner({store: createAppStore()})} as unknown as StepEnv;
    await expect(writeToDisk(job, env)).rejects.toThrow(/could not write .*volume\.qcow2 to disk: EIO/);
    await expect(writeToDisk({...job, earlyFlush: Promise.resolve(undefined)}, env)).resolves.toBeUndefined();
  });

  it('the convert step starts them while qemu-img convert runs, and its flush after convert waits for them', async () => {
    const dir = join(tmp.path, 'step');
    mkdirSync(dir);
    const raw = join(dir, 'filesystem.raw');
    const made = spawnSync('sh', ['-c', 'truncate -s 64M "$1" && mkfs.ext4 -q -L tdx-cache "$1"', 'make', raw], {encoding: 'utf8'});
    expect(made.status, `mkfs.ext4 (e2fsprogs): ${made.stderr}`).toBe(0);
    const job = {format: 'qcow2', fs: 'ext4', rawPath: raw, qcowPath: join(dir, 'volume.qcow2'), target: {dir}} as unknown as CreateJob;
    const env = {runner: new Runner({store: createAppStore()}), store: createAppStore(), warn: () => undefined, info: () => undefined} as unknown as StepEnv;
    await convert.run!(job, env);
    expect(job.earlyFlush).toBeInstanceOf(Promise); // fails if the step stops starting them
    expect(await job.earlyFlush).toBeUndefined();
    await expect(job.flushed).resolves.toBeUndefined();
    expect(existsSync(raw)).toBe(false); // the raw file removed after convert
    expect(spawnSync('qemu-img', ['check', job.qcowPath!], {encoding: 'utf8'}).status).toBe(0);
  });
});
