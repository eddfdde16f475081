// tdx-wizard volumes [--dir D ...]: every volume the wizard can find on this host (the remembered
// set and launcher's directory, the layout, the directories given, and what QEMU has open), each
// judged as it is, and per host filesystem what the thin volumes can still grow to against its
// free space. Read-only, no root needed for files the user can read.
import type {Command} from 'commander';
import {existsSync, statSync} from 'node:fs';
import {action} from '../cli/program.js';
import {columns} from '../cli/columns.js';
import {UsageError} from '../errors.js';
import {takeInventory, type Entry} from '../inventory/inventory.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  program
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
              path: e.path, foundBy: e.foundBy, role: e.role ?? null, judgedFor: e.judgedFor, label: e.label ?? null, vm: e.vm ?? null, fits: e.fits,
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
}

function row(e: Entry): string[] {
  const i = e.inspection;
  const size = i.virtualSize !== undefined ? `${formatBytes(i.virtualSize)} / ${formatBytes(i.allocatedSize ?? 0)}` : '-';
  return [
    e.path,
    `${e.role ?? '?'}${e.label !== undefined ? ` "${e.label}"` : ''}`,
    e.vm ?? '-',
    e.fits.join(',') || 'none',
    `${i.verdict} (${e.judgedFor})`,
    e.encrypted ? 'encrypted (LUKS2)' : i.filesystem && i.filesystem !== 'empty' ? `clear ${i.filesystem}` : (i.filesystem ?? '-'),
    size,
    e.changed ? e.changed.slice(0, 16).replace('T', ' ') : '-',
    i.inUseDetail ?? '-',
  ];
}
