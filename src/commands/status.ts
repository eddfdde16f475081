// tdx-wizard status: is the VM running, since when, and what its serial log last said. Read from
// the pid file and /proc, not from the launcher's --status (wrong for anyone but root).
import type {Command} from 'commander';
import {UsageError} from '../errors.js';
import {action} from '../cli/program.js';
import type {CliContext} from '../cli/context.js';
import {actionFor, type HintMatch} from '../vm/hints.js';
import {chooseEra} from '../era/choose.js';
import {rememberedEra} from '../era/remembered.js';
import {adapterFor} from '../vm/adapters/index.js';
import {vmStatus, type VmStatus} from '../vm/launcher.js';
import {untrustedText} from '../vm/pid.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('whether the VM runs (pid file and /proc), its uptime, the last serial log lines and what they mean')
    .option('--lines <n>', 'how many serial log lines to show', '10')
    .option('--era <id>', 'the upstream era, for the name its QEMU runs under (default: the one remembered)')
    .action(action('status', (ctx, _args, opts) => status(ctx, lineCount(String(opts.lines)), opts.era)));
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  return m ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

export function markerJson(m: HintMatch | undefined): Record<string, unknown> | null {
  if (!m) return null;
  return {id: m.hint.id, severity: m.hint.severity, title: m.hint.title, explanation: m.hint.explanation, action: actionFor(m.hint), line: m.line};
}

function pidText(s: VmStatus): string {
  switch (s.pidState.state) {
    case 'running':
      return `running (pid ${s.pidState.pid}${s.uptimeSeconds !== undefined ? `, up ${formatDuration(s.uptimeSeconds)}` : ''})`;
    case 'absent':
      return 'not running (no pid file)';
    case 'stale':
      return `not running (the pid file ${s.pidFile} names ${s.pidState.pid ?? 'nothing'}, which has ended)`;
    case 'unreadable':
      return `unknown: the pid file ${s.pidFile} cannot be read (${s.pidState.error}); run as root`;
    case 'untrusted':
      return `not running (${untrustedText(s.pidState, s.pidFile)})`;
  }
}

/** --lines: a whole number, 0 to 10000. */
function lineCount(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 10_000) throw new UsageError(`--lines ${value} is not a whole number from 0 to 10000`, 'e.g. --lines 50');
  return Number(value);
}

async function status(ctx: CliContext, lines: number, eraOption: unknown): Promise<number> {
  // Never the launcher: run-td stops the running VM whenever it is called (except --help).
  const remembered = rememberedEra();
  const era = eraOption !== undefined || remembered ? chooseEra(eraOption, remembered) : undefined;
  const s = await vmStatus(lines, undefined, era ? adapterFor(era).status() : undefined);
  const {cause, poweredOff, failed} = s.markers;
  const text = [`VM: ${pidText(s)}`, ...s.evidence.map((e) => `  ${e}`), `serial log: ${s.serialLog}${s.logExists ? '' : ' (not there yet)'}`];
  if (s.lastLines.length) text.push('last lines:', ...s.lastLines.map((l) => `  ${l}`));
  if (cause) {
    const fix = actionFor(cause.hint);
    text.push(`${poweredOff ? 'the VM powered off: ' : 'last marker: '}${cause.hint.title}`, `  ${cause.hint.explanation}`, ...(fix ? [`  fix: ${fix}`] : []));
  } else if (poweredOff) text.push('the VM powered off; the log does not say why');
  ctx.reporter.result(
    {
      running: s.running,
      pid: s.pid ?? null,
      pidFile: s.pidFile,
      pidFileState: s.pidState.state,
      era: era?.id ?? null,
      evidence: s.evidence,
      uptimeSeconds: s.uptimeSeconds ?? null,
      serialLog: s.serialLog,
      lastLines: s.lastLines,
      marker: markerJson(cause),
      poweredOff,
      failed,
    },
    text.join('\n'),
  );
  return 0;
}
