import {reclaimFuseLeftovers} from '../attach/index.js';
import type {CliContext} from '../cli/context.js';
import {UsageError} from '../errors.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import type {Expectation} from '../volume/judge.js';

/**
 * What every write command does first: read the volume (an unreadable one, or a raw file named
 * .qcow2, is bad input). Only when the volume is held, and a killed run's FUSE export may be what
 * holds it, are such leftovers stopped (saying so) and the volume read again: a refused command
 * leaves other runs' leftovers as they were.
 */
export async function volumeBeforeWrite(ctx: CliContext, path: string, expect?: Expectation): Promise<Inspection> {
  ctx.runner.preload(); // the write spawns: execa loads while the volume is inspected
  let before = await inspectVolume(path, expect);
  if (before.verdict === 'unreadable') throw new UsageError(before.reason, before.fix);
  // Its name says qcow2 and QEMU would read it so: writing to it as it is would only hide that.
  if (before.format === 'raw' && /\.qcow2$/i.test(path)) throw new UsageError(`${path} is a raw file named .qcow2`, before.fix);
  if (before.inUse) {
    const notes = await reclaimFuseLeftovers(ctx.runner);
    for (const note of notes) ctx.reporter.warn(note);
    if (notes.length) before = await inspectVolume(path, expect);
  }
  return before;
}
