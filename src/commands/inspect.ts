// tdx-wizard inspect <path> and tdx-wizard verify <path...>: read-only, no root, no NBD. Each
// volume is judged as a role of an era (--role, --era; the document's cache volume by default);
// several paths, or --dir with --hostname, are judged as the set one VM is given.
import type {Command} from 'commander';
import {IN_USE_EXIT, UsageError} from '../errors.js';
import {action} from '../cli/program.js';
import {columns} from '../cli/columns.js';
import type {CliContext} from '../cli/context.js';
import {chooseRole} from '../era/choose.js';
import {eraFromOption} from '../era/remembered.js';
import type {Era, Role} from '../era/eras.js';
import {existingVolumePath} from './volume-path.js';
import {inspectVolume, type Inspection} from '../volume/inspect.js';
import {checkSet, roleOf, setPaths, setRows, type SetCheck} from '../volume/set.js';
import {formatBytes} from '../volume/size.js';

const ROLE_HELP = 'the role it plays: cache (default), storage, containerd or config';
const ERA_HELP = 'the guest era (E1, E2, E3a, E3b, E4, E5, E5x, E6; default: the remembered one, else E4)';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a volume holds and whether the VM will accept it (read-only)')
    .argument('<path>', 'the volume file')
    .option('--role <role>', ROLE_HELP)
    .option('--era <era>', ERA_HELP)
    .action(
      action('inspect', async (ctx, [path], opts) => {
        const era = eraFromOption(opts.era);
        const spec = chooseRole(era, opts.role ?? 'cache');
        const info = await inspectVolume(existingVolumePath(path!, {followSymlink: true}), {era, spec});
        // JSON drops undefined: absent facts are null, so every key is always there.
        const json = Object.fromEntries(Object.entries({format: null, virtualSize: null, allocatedSize: null, filesystem: null, label: null, uuid: null, inUseDetail: null, holders: null, fix: null, production: null, ...info}).map(([k, v]) => [k, v ?? null]));
        ctx.reporter.result(json, describe(info));
        return info.verdict === 'unreadable' ? 1 : info.verdict === 'in-use' ? IN_USE_EXIT : 0;
      }),
    );
  program
    .command('verify')
    .description(`exit 0 if the VM will accept the volume (or the whole set), 1 if not (with the reason and the fix), ${IN_USE_EXIT} if another process holds it`)
    .argument('[paths...]', 'the volume file; several files (or --dir) are checked as the set one VM gets')
    .option('--role <role>', `${ROLE_HELP} (one path only)`)
    .option('--era <era>', ERA_HELP)
    .option('--dir <dir>', 'check the whole set in this directory, named as upstream names them (needs --hostname)')
    .option('--hostname <name>', "the VM's hostname in the set's file names (cache-<hostname>.qcow2, …)")
    .action(action('verify', (ctx, paths, opts) => verify(ctx, paths, opts)));
}

async function verify(ctx: CliContext, paths: string[], opts: Record<string, unknown>): Promise<number> {
  const era = eraFromOption(opts.era);
  if (opts.dir !== undefined || paths.length > 1) {
    if (opts.role !== undefined) throw new UsageError('--role names the role of one volume; a set is matched by file name', 'leave out --role, or give one path');
    const check = await checkSet(era, setFrom(era, paths, opts));
    reportSet(ctx, check);
    return check.ok ? 0 : check.members.some((m) => m.inspection?.verdict === 'in-use') ? IN_USE_EXIT : 1;
  }
  if (paths.length === 0) throw new UsageError('no volume given', 'tdx-wizard verify <path> [--role storage], or --dir DIR --hostname NAME for the whole set');
  const spec = chooseRole(era, opts.role ?? 'cache');
  const info = await inspectVolume(existingVolumePath(paths[0]!, {followSymlink: true}), {era, spec});
  const text = info.accepted ? `ok: ${info.path}: ${info.reason}` : `not accepted: ${info.path}: ${info.reason}${info.fix ? `\n  fix: ${info.fix}` : ''}`;
  ctx.reporter.result({ok: info.accepted, path: info.path, role: info.role, era: info.era, verdict: info.verdict, reason: info.reason, fix: info.fix ?? null, holders: info.holders ?? null, production: info.production ?? null}, text);
  return info.accepted ? 0 : info.verdict === 'in-use' ? IN_USE_EXIT : 1;
}

/** The set's paths: --dir with --hostname (upstream's names), or the paths given, each matched to its role. */
function setFrom(era: Era, paths: string[], opts: Record<string, unknown>): Map<Role, string> {
  if (opts.dir !== undefined) {
    if (paths.length) throw new UsageError('give either --dir (with --hostname) or the volume paths, not both', 'tdx-wizard verify --dir DIR --hostname NAME');
    const hostname = typeof opts.hostname === 'string' ? opts.hostname : '';
    if (!hostname) throw new UsageError('--dir needs --hostname: the set is named cache-<hostname>, storage-<hostname>, config-<hostname>', `tdx-wizard verify --dir ${String(opts.dir)} --hostname <name> --era ${era.id}`);
    return setPaths(era, String(opts.dir), hostname);
  }
  const set = new Map<Role, string>();
  for (const input of paths) {
    const path = existingVolumePath(input, {followSymlink: true});
    const spec = roleOf(era, path);
    if (!spec) throw new UsageError(`cannot tell which volume of the ${era.id} set ${path} is`, `name it as upstream does (${era.volumes.map((v) => `${v.filePrefix}-<host>`).join(', ')}), or check it alone: tdx-wizard verify ${path} --role <role>`);
    if (set.has(spec.role)) throw new UsageError(`two ${spec.role} volumes given (${set.get(spec.role)} and ${path}); a VM gets one of each`, 'give one file per role');
    set.set(spec.role, path);
  }
  return set;
}

function reportSet(ctx: CliContext, check: SetCheck): void {
  const table = columns([['role', 'path', 'size', 'format', 'filesystem', 'status'], ...setRows(check)]);
  const lines = [`${check.era.id} set: ${check.ok ? 'ok, the guest will find every volume it needs, once' : 'not accepted'}`, table];
  for (const p of check.problems) lines.push(`problem: ${p.text}${p.fix ? `\n  fix: ${p.fix}` : ''}`);
  for (const m of check.members) if (m.inspection?.production) lines.push(`note (${m.spec.role}): ${m.inspection.production}`);
  ctx.reporter.result(
    {
      ok: check.ok,
      era: check.era.id,
      volumes: check.members.map((m) => ({role: m.spec.role, label: m.spec.label, path: m.path || null, exists: Boolean(m.inspection), verdict: m.inspection?.verdict ?? 'missing', accepted: m.inspection?.accepted ?? false, reason: m.inspection?.reason ?? null, fix: m.inspection?.fix ?? null})),
      problems: check.problems,
    },
    lines.join('\n'),
  );
}

function describe(info: Inspection): string {
  const rows: Array<[string, string | undefined]> = [
    ['path', info.path],
    ['checked as', `${info.role} volume ("${info.expectedLabel}") of era ${info.era}`],
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
    ['production', info.production],
  ];
  const lines = rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(14)} ${v}`);
  for (const w of info.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
