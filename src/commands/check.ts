// tdx-wizard check [--dir PATH] [--launcher PATH]: the host checks, as a table or as JSON.
// Exit 0 when nothing failed (warnings allowed), 1 when a check failed.
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import {findEra} from '../era/eras.js';
import {rememberedEra} from '../era/remembered.js';
import {runChecks, type Check} from '../host/checks.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('check this host: root, tools, nbd, FUSE, KVM, TDX, free space, the launcher and its era, a running VM')
    .option('--dir <path>', 'where the volumes will live (free space)', '.')
    .option('--launcher <path>', 'the upstream launcher (default ./run-tdx.sh, ./run-td or ./host-tools/scripts/run-td, else chutes-cvm on PATH when the remembered era is E6); its era is told from its files')
    .action(
      action('check', async (ctx, _args, opts) => {
        const checks = await runChecks(ctx.runner, {dir: String(opts.dir), launcher: opts.launcher as string | undefined, era: findEra(rememberedEra())});
        const failed = checks.filter((c) => c.status === 'fail').length;
        const warned = checks.filter((c) => c.status === 'warn').length;
        ctx.reporter.result({ok: failed === 0, failed, warnings: warned, checks}, table(checks));
        return failed ? 1 : 0;
      }),
    );
}

const MARK = {ok: 'ok  ', warn: 'WARN', fail: 'FAIL'} as const;

export function table(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status]}  ${c.title}: ${c.summary}`);
    for (const e of c.evidence) lines.push(`        ${e.source}: ${e.said}`);
    if (c.fix) lines.push(`        fix${c.autoFix ? ' (the wizard can run it)' : ''}: ${c.fix.replace(/\n/g, '\n          ')}`); // a fix of several lines (a TOML block) stays under its check
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push('', failed ? `${failed} failed, ${warned} warnings` : `all needed checks passed${warned ? ` (${warned} warnings)` : ''}`);
  return lines.join('\n');
}
