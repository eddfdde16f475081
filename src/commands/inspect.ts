// tdx-wizard inspect <path> and tdx-wizard verify <path>: read-only, no root, no NBD.
import type {Command} from 'commander';
import {resolve} from 'node:path';
import {action} from '../cli/program.js';
import {UsageError} from '../errors.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a volume holds and whether the VM will accept it (read-only)')
    .argument('<path>', 'the volume file')
    .action(
      action('inspect', async (ctx, [path]) => {
        const info = await inspectVolume(checkedPath(path!));
        ctx.reporter.result({...info}, describe(info));
        return info.verdict === 'unreadable' ? 1 : 0;
      }),
    );
  program
    .command('verify')
    .description('exit 0 if the VM will accept the volume, 1 if not (with the reason and the fix)')
    .argument('<path>', 'the volume file')
    .action(
      action('verify', async (ctx, [path]) => {
        const info = await inspectVolume(checkedPath(path!));
        const text = info.accepted
          ? `ok: ${info.path}: ${info.reason}`
          : `not accepted: ${info.path}: ${info.reason}${info.fix ? `\n  fix: ${info.fix}` : ''}`;
        ctx.reporter.result({ok: info.accepted, path: info.path, verdict: info.verdict, reason: info.reason, fix: info.fix ?? null}, text);
        return info.accepted ? 0 : 1;
      }),
    );
}

function checkedPath(path: string): string {
  if (!path || /[\x00-\x1f]/.test(path)) throw new UsageError('the volume path is empty or has control characters', 'give the path of the volume file');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) throw new UsageError(`"${path}" looks like a qemu protocol name, not a file`, 'give the path of the volume file');
  return resolve(path);
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
