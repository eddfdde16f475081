// tdx-wizard inspect <path> and tdx-wizard verify <path>: read-only, no root, no NBD.
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import {existingVolumePath} from './volume-path.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a volume holds and whether the VM will accept it (read-only)')
    .argument('<path>', 'the volume file')
    .action(
      action('inspect', async (ctx, [path]) => {
        const info = await inspectVolume(existingVolumePath(path!, {followSymlink: true}));
        // JSON drops undefined: absent facts are null, so every key is always there.
        const json = Object.fromEntries(Object.entries({format: null, virtualSize: null, allocatedSize: null, filesystem: null, label: null, uuid: null, inUseDetail: null, fix: null, ...info}).map(([k, v]) => [k, v ?? null]));
        ctx.reporter.result(json, describe(info));
        return info.verdict === 'unreadable' ? 1 : 0;
      }),
    );
  program
    .command('verify')
    .description('exit 0 if the VM will accept the volume, 1 if not (with the reason and the fix)')
    .argument('<path>', 'the volume file')
    .action(
      action('verify', async (ctx, [path]) => {
        const info = await inspectVolume(existingVolumePath(path!, {followSymlink: true}));
        const text = info.accepted
          ? `ok: ${info.path}: ${info.reason}`
          : `not accepted: ${info.path}: ${info.reason}${info.fix ? `\n  fix: ${info.fix}` : ''}`;
        ctx.reporter.result({ok: info.accepted, path: info.path, verdict: info.verdict, reason: info.reason, fix: info.fix ?? null}, text);
        return info.accepted ? 0 : 1;
      }),
    );
}

function describe(info: Inspection): string {
  const rows: Array<[string, string | undefined]> = [
    ['path', info.path],
    ['format', info.format],
    ['virtual size', info.virtualSize !== undefined ? formatBytes(info.virtualSize) : undefined],
    ['on disk', info.allocatedSize !== undefined ? formatBytes(info.allocatedSize) : undefined],
    ['backing chain', info.backingChain.length ? info.backingChain.join(' -> ') : 'none'],
    ['filesystem', info.filesystem],
    ['label', info.label],
    ['UUID', info.uuid],
    ['in use', info.inUse ? `yes, ${info.inUseDetail}` : 'no'],
    ['verdict', `${info.verdict}${info.accepted ? ' (the VM will accept it)' : ''}`],
    ['why', info.reason],
    ['fix', info.fix],
  ];
  const lines = rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(14)} ${v}`);
  for (const w of info.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
