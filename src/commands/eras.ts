// tdx-wizard eras [--detect LAUNCHER]: the upstream eras the wizard knows, what each guest needs,
// and which era a launcher belongs to (read from its files, never run).
import type {Command} from 'commander';
import {UsageError} from '../errors.js';
import {action} from '../cli/program.js';
import {detectEra} from '../era/detect.js';
import {DEFAULT_ERA, ERAS, defaultFileName, volumeSummary} from '../era/eras.js';
import {rememberedEra} from '../era/remembered.js';

export function register(program: Command): void {
  program
    .command('eras')
    .description('list the upstream eras and the volumes each guest needs; --detect tells the era of a launcher from its files')
    .option('--detect <launcher>', 'a launcher file (run-td, quick-launch.sh, run-tdx.sh, …): read, never run')
    .action(
      action('eras', async (ctx, _args, opts) => {
        if (opts.detect !== undefined) {
          const found = await detectEra(String(opts.detect));
          if (!found) throw new UsageError(`no known upstream launcher signature in ${String(opts.detect)} or the files beside it`, 'give the path of run-td, quick-launch.sh, run-vm.sh or run-tdx.sh as upstream ships it, or pass --era yourself');
          ctx.reporter.result({era: found.era.id, title: found.era.title, evidence: found.evidence, file: found.file}, `${found.era.id}: ${found.evidence}`);
          return 0;
        }
        const current = rememberedEra() ?? DEFAULT_ERA;
        const lines = ERAS.map((e) => {
          const mark = e.id === current ? '*' : ' ';
          const vols = e.volumes.map((v) => `${defaultFileName(v, '<host>')} ${volumeSummary(v)}`).join(', ');
          return `${mark} ${e.id.padEnd(4)} ${e.title}\n       launcher ${e.launcherFile}; volumes: ${vols}`;
        });
        ctx.reporter.result(
          {current, eras: ERAS.map((e) => ({id: e.id, title: e.title, when: e.when, launcher: e.launcher, volumes: e.volumes}))},
          [...lines, `(* = the era used when --era is not given; ${DEFAULT_ERA} is the February 2026 document's)`].join('\n'),
        );
        return 0;
      }),
    );
}
