// Shared plumbing for subcommands: global flags, and how an action becomes an exit code.
import type {Command} from 'commander';
import {runCommand, type CommandBody, type GlobalOptions} from './context.js';

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  return {json: Boolean(o.json), dryRun: Boolean(o.dryRun), verbose: Boolean(o.verbose), transcriptFormat: o.transcriptFormat as string | undefined};
}

/** Wraps a subcommand body: `commander` calls this with the positional args, the options and the command. */
export function action(name: string, body: (ctx: Parameters<CommandBody>[0], args: string[], opts: Record<string, unknown>) => Promise<number | void>) {
  return async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    const opts = received[received.length - 2] as Record<string, unknown>;
    const args = received.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    process.exitCode = await runCommand(name, globalOptions(cmd), (ctx) => body(ctx, args, opts));
  };
}
