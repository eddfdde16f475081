import {reclaimFuseLeftovers} from '../attach/index.js';
import type {CliContext} from '../cli/context.js';
import {UsageError} from '../errors.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import type {Expectation} from '../volume/judge.js';

/**
 * What every write command does first: stop FUSE exports a killed run left behind (saying so),
 * then read the volume; an unreadable one is bad input.
 */
export async function volumeBeforeWrite(ctx: CliContext, path: string, expect?: Expectation): Promise<Inspection> {
  ctx.runner.preload(); // the write spawns: execa loads while the volume is inspected
  for (const note of await reclaimFuseLeftovers(ctx.runner)) ctx.reporter.warn(note);
  const before = await inspectVolume(path, expect);
  if (before.verdict === 'unreadable') throw new UsageError(before.reason, before.fix);
  // Its name says qcow2 and QEMU would read it so: writing to it as it is would only hide that.
  if (before.format === 'raw' && /\.qcow2$/i.test(path)) throw new UsageError(`${path} is a raw file named .qcow2`, before.fix);
  return before;
}
