// tdx-wizard inspect-image <path>: a guest image (a qcow2 or raw disk, or an E6 image-set
// directory), read-only and without root: debug or production, the era where its root can be read,
// its partitions, and its name against its format. A command of its own rather than `inspect
// --image`: `inspect` judges a volume as a role of an era (--role, --era, a verdict the guest
// accepts or refuses), a guest image has no role, can be a directory, and is what tells the era.
import type {Command} from 'commander';
import {action} from '../cli/program.js';
import {UsageError} from '../errors.js';
import {ImageError} from '../disk/qcow2.js';
import {inspectGuestImage, type GuestImage} from '../volume/guest-image.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  program
    .command('inspect-image')
    .description('tell a guest image: debug or production, its era where its root can be read, its partitions, its name against its format (read-only)')
    .argument('<path>', 'the guest image (tdx-guest.qcow2), or an E6 image-set directory (with manifest.json)')
    .action(
      action('inspect-image', async (ctx, [path]) => {
        if (!path || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) throw new UsageError(`"${path ?? ''}" is not a file path`, 'give the path of the guest image or of its image-set directory');
        let info: GuestImage;
        try {
          info = await inspectGuestImage(path);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') throw new UsageError(`${path} does not exist`, 'give the path of the guest image (tdx-guest.qcow2) or of its image-set directory');
          if (error instanceof ImageError) {
            ctx.reporter.result({ok: false, path, error: error.message}, `unreadable: ${error.message}`);
            return 1;
          }
          throw error;
        }
        ctx.reporter.result({ok: true, ...info}, describe(info));
        return 0;
      }),
    );
}

export function describe(info: GuestImage): string {
  const lines = [`${info.path}: ${info.kind === 'image-set' ? `an image set${info.disk ? ` (disk ${info.disk})` : ''}` : 'a guest image'}${info.format ? `, ${info.format}` : ''}${info.virtualSize !== undefined ? `, ${formatBytes(info.virtualSize)}` : ''}`];
  if (info.partitions) {
    lines.push('partitions (GPT):');
    for (const p of info.partitions) lines.push(`  ${p.index}  ${p.type}${p.name ? ` "${p.name}"` : ''}  ${formatBytes(p.size)}  ${p.content}${p.label ? ` (${p.label})` : ''}${p.root ? '  <- root' : ''}`);
  } else if (info.format) lines.push('partitions: none (no GPT)');
  lines.push(`build: ${info.build}`);
  for (const e of info.buildEvidence) lines.push(`  ${e}`);
  lines.push(`era: ${info.eras.length ? info.eras.join(' or ') : 'unknown'}${info.eraNote ? ` (${info.eraNote})` : ''}`);
  for (const e of info.eraEvidence) lines.push(`  ${e}`);
  lines.push(`name: ${info.name.ok ? 'ok' : 'WRONG'}: ${info.name.text}${info.name.fix ? `\n  fix: ${info.name.fix}` : ''}`);
  for (const p of info.problems) lines.push(`problem: ${p}`);
  return lines.join('\n');
}
