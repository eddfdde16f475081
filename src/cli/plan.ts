// What --dry-run prints for a command that runs a flow: the commands it would have run, as a
// shell script an operator can read (secrets masked), and the same list in the JSON result.
// Every flow command prints its plan this way, so none says "nothing was changed" and no more.
import type {CliContext} from './context.js';
import {toShellScript} from '../runner/transcript.js';

export function reportPlan(ctx: CliContext, title: string, result: Record<string, unknown>): number {
  const planned = ctx.store.getState().runs;
  ctx.reporter.print(toShellScript(planned, `plan: ${title}; nothing was run`));
  ctx.reporter.result({ok: true, dryRun: true, ...result, commands: planned.map((r) => r.argv)}, '');
  return 0;
}
