// tdx-wizard volumes [--dir D ...]: every volume the wizard can find on this host (the remembered
// set and launcher's directory, the layout, the directories given, and what QEMU has open), each
// judged as it is, and per host filesystem what the thin volumes can still grow to against its
// free space. Read-only, no root needed for files the user can read.
import type {Command} from 'commander';
import {Option} from 'commander';
import {resolve} from 'node:path';
import type {CliContext} from '../cli/context.js';
import {askYesNo} from '../cli/prompt.js';
import {toShellScript} from '../runner/transcript.js';
import {adopt, describeStep, planAdopt, planUndo, resumeMoves, undo} from '../inventory/adopt.js';
import type {LayoutKind} from '../inventory/layout.js';
import {existsSync, statSync} from 'node:fs';
import {action} from '../cli/program.js';
import {columns} from '../cli/columns.js';
import {UsageError} from '../errors.js';
import {takeInventory, type Entry} from '../inventory/inventory.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  const volumes = program
    .command('volumes')
    .description('list every volume on this host the wizard can find: role, VM, the eras that take it, verdict, clear or encrypted, sizes, who holds it; and whether the host disk can hold what they can grow to')
    .option('--dir <path>', 'also look in this directory (repeat for more)', (value: string, all: string[]) => [...all, value], [] as string[])
    .action(
      action('volumes', async (ctx, _args, opts) => {
        const dirs = opts.dir as string[];
        for (const dir of dirs) {
          if (!existsSync(dir)) throw new UsageError(`${dir} does not exist`, 'give a directory that holds volumes');
          if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`, 'give the directory that holds the volumes, not a file (tdx-wizard inspect FILE reads one volume)');
        }
        const inv = await takeInventory(dirs);
        for (const c of inv.capacity) if (c.warning) ctx.reporter.warn(c.warning, 'free space on that filesystem, or move a volume elsewhere');
        const header = ['volume', 'role', 'vm', 'fits', 'verdict', 'kind', 'size / on disk', 'changed', 'held by'];
        const rows = inv.entries.map(row);
        const text = inv.entries.length
          ? columns([header, ...rows])
          : `no volumes found; looked in: ${inv.looked.join(', ') || 'nothing remembered yet'} (add --dir DIR)`;
        const capacity = inv.capacity.map((c) => `${c.dir}: the volumes can still grow by ${formatBytes(c.growBytes)}; ${c.freeBytes !== undefined ? `${formatBytes(c.freeBytes)} free` : 'free space unknown'}${c.warning ? ' (too little)' : ''}`);
        ctx.reporter.result(
          {
            volumes: inv.entries.map((e) => ({
              path: e.path, foundBy: e.foundBy, uuid: e.uuid ?? null, generation: e.generation ?? null, role: e.role ?? null, judgedFor: e.judgedFor, label: e.label ?? null, vm: e.vm ?? null, fits: e.fits,
              verdict: e.inspection.verdict, reason: e.inspection.reason, fix: e.inspection.fix ?? null, encrypted: e.encrypted,
              format: e.inspection.format ?? null, filesystem: e.inspection.filesystem ?? null,
              virtualSize: e.inspection.virtualSize ?? null, allocatedSize: e.inspection.allocatedSize ?? null,
              changed: e.changed ?? null, heldBy: e.inspection.inUseDetail ?? null,
            })),
            capacity: inv.capacity,
            looked: inv.looked,
          },
          [text, ...capacity].join('\n'),
        );
        return 0;
      }),
    );
  volumes
    .command('adopt')
    .description('move volumes into the layout (<root>/clear/<vm>/, <root>/vault/<vm>/): a rename on the same filesystem, never a copy, never in use; recorded in place when on another filesystem; --undo puts them back')
    .argument('<paths...>', 'the volume files')
    .option('--vm <name>', 'the VM they belong to (default: the hostname in upstream\'s file name, <role>-<hostname>.<ext>)')
    .addOption(new Option('--to <kind>', 'where volumes that are neither the config volume nor encrypted go: clear (a debug guest reads them) or vault (a production guest will encrypt them)').choices(['clear', 'vault']).default('clear'))
    .option('--undo', 'put adopted volumes back where they came from')
    .option('--yes', 'do not ask before moving')
    .action(action('volumes adopt', (ctx, paths, opts) => adoptCommand(ctx, paths.map((p) => resolve(p)), opts)));
}

async function adoptCommand(ctx: CliContext, paths: string[], opts: Record<string, unknown>): Promise<number> {
  const {reporter, runner} = ctx;
  if (!runner.dryRun) resumeMoves(reporter.warn); // what a killed run left half-done, first
  if (opts.undo) {
    const steps = await planUndo(paths);
    for (const s of steps) reporter.info(s.back ? `back    ${s.path} -> ${s.back}` : `forget  ${s.path} (recorded in place; it stays where it is)`);
    if (!runner.dryRun && !opts.yes && !(await askYesNo(`Put ${steps.length} volume(s) back?`, '--yes'))) throw new UsageError('not confirmed: nothing was moved');
    await undo(runner, steps);
    if (!runner.dryRun) await rememberMoves(steps.filter((s) => s.back).map((s) => [s.path, s.back!] as const), reporter.warn, reporter.info);
    reporter.result({ok: true, dryRun: runner.dryRun, undone: steps}, runner.dryRun ? 'plan only (--dry-run): nothing was moved' : `put back ${steps.length} volume${steps.length === 1 ? '' : 's'}`);
    return 0;
  }
  const steps = await planAdopt(paths, {...(opts.vm ? {vm: String(opts.vm)} : {}), to: opts.to as LayoutKind});
  const lines = steps.map(describeStep);
  for (const line of lines) reporter.info(line);
  const moving = steps.filter((s) => s.kind !== 'already');
  if (!moving.length) {
    reporter.result({ok: true, changed: false, steps}, 'nothing to do: every volume is in the layout already');
    return 0;
  }
  if (!runner.dryRun && !opts.yes && !(await askYesNo(`Adopt ${moving.length} volume(s) as planned above? (a stopped VM must be launched with the new paths)`, '--yes'))) {
    throw new UsageError('not confirmed: nothing was moved');
  }
  await adopt(runner, steps);
  if (!runner.dryRun) await rememberMoves(steps.flatMap((s) => (s.kind === 'move' ? [[s.from, s.to] as const] : [])), reporter.warn, reporter.info);
  if (runner.dryRun) reporter.print(toShellScript(ctx.store.getState().runs, 'plan: volumes adopt; nothing was moved'));
  reporter.result(
    {ok: true, changed: !runner.dryRun, dryRun: runner.dryRun, steps},
    runner.dryRun ? 'plan only (--dry-run): nothing was moved' : `adopted ${moving.length} volume${moving.length === 1 ? '' : 's'}; launch with the new paths (tdx-wizard volumes lists them)`,
  );
  return 0;
}

/** The remembered settings follow the moved volumes (the launch form then offers where they are). */
async function rememberMoves(moves: ReadonlyArray<readonly [string, string]>, warn: (text: string) => void, info: (text: string) => void): Promise<void> {
  if (!moves.length) return;
  try {
    const {followMoves, loadSettings} = await import('../settings.js');
    if (followMoves(loadSettings().store, moves)) info('the remembered volume paths now name the new places (the launch form offers them)');
  } catch (error) {
    warn(`the remembered volume paths were not updated: ${(error as Error).message}; give the new paths at the next launch`);
  }
}

function row(e: Entry): string[] {
  const i = e.inspection;
  const size = i.virtualSize !== undefined ? `${formatBytes(i.virtualSize)} / ${formatBytes(i.allocatedSize ?? 0)}` : '-';
  return [
    e.path,
    `${e.role ?? '?'}${e.label !== undefined ? ` "${e.label}"` : ''}`,
    e.vm ? `${e.vm}${e.generation !== undefined ? ` g${e.generation}` : ''}` : '-',
    e.fits.join(',') || 'none',
    `${i.verdict} (${e.judgedFor})`,
    e.encrypted ? 'encrypted (LUKS2)' : i.filesystem && i.filesystem !== 'empty' ? `clear ${i.filesystem}` : (i.filesystem ?? '-'),
    size,
    e.changed ? e.changed.slice(0, 16).replace('T', ' ') : '-',
    i.inUseDetail ?? '-',
  ];
}
