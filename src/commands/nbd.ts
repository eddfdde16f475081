// tdx-wizard nbd list | load [--persist] | attach <image> | detach <device> [--confirm DEV] | recover [--yes]
// The "busy NBD device" troubleshooting screen and the tools behind it.
import {Option, type Command} from 'commander';
import {action} from '../cli/program.js';
import {columns} from '../cli/columns.js';
import {askYesNo, confirmTyped} from '../cli/prompt.js';
import {requireRoot} from '../cli/root.js';
import {hostRoots} from '../host/roots.js';
import {attachImage, detachDevice, deviceName, listDevices, loadModule, readDevice, readModule, readRecords, recoverStale, type NbdDevice, type RecoverItem} from '../nbd/index.js';
import {formatBytes} from '../volume/size.js';

export function register(program: Command): void {
  const nbd = program.command('nbd').description('NBD devices: list them, load the module, attach, detach, clean up after a crash');

  nbd.command('list').description('every /dev/nbdN: free, connected, stale or stuck, with what serves and holds it').action(
    action('nbd-list', async (ctx) => {
      const roots = hostRoots();
      const devices = await listDevices(roots);
      const module = await readModule(roots);
      const text = devices.length ? deviceTable(devices) : 'no NBD devices: the nbd module is not loaded\n  fix: tdx-wizard nbd load';
      ctx.reporter.result({module, devices}, text);
    }),
  );

  nbd
    .command('load')
    .description('modprobe nbd max_part=8 and wait for the devices')
    .option('--persist', 'also load it at boot (/etc/modules-load.d/nbd.conf, /etc/modprobe.d/nbd.conf)')
    .action(
      action('nbd-load', async (ctx, _args, opts) => {
        if (!ctx.runner.dryRun) requireRoot('loading the nbd kernel module', 'only root may insert kernel modules (modprobe needs CAP_SYS_MODULE)', 'sudo tdx-wizard nbd load');
        const r = await loadModule(ctx.runner, hostRoots(), {persist: Boolean(opts.persist)});
        const lines = [r.loadedNow ? `loaded nbd: ${r.devices} devices (nbds_max=${r.nbdsMax ?? '?'}, max_part=${r.maxPart ?? '?'})` : 'nbd was already loaded', ...r.notes];
        for (const file of r.persisted) lines.push(`wrote ${file}`);
        if (!opts.persist) lines.push('to load it at every boot: tdx-wizard nbd load --persist');
        ctx.reporter.result({...r}, lines.join('\n'));
      }),
    );

  nbd
    .command('attach')
    .description('attach a volume to a free /dev/nbdN and leave it attached')
    .argument('<image>', 'the volume file')
    .addOption(new Option('--format <format>', 'qcow2 or raw').choices(['qcow2', 'raw']).default('qcow2'))
    .action(
      action('nbd-attach', async (ctx, [image], opts) => {
        if (!ctx.runner.dryRun) requireRoot('attaching to /dev/nbdN', 'qemu-nbd --connect opens the NBD device, which only root may do', 'sudo tdx-wizard nbd attach IMAGE; to only read a volume, tdx-wizard inspect needs no root');
        const format = opts.format === 'raw' ? 'raw' : 'qcow2';
        const attached = await attachImage(ctx.runner, image!, {format});
        await attached.keep();
        ctx.reporter.result({device: `/dev/${attached.device}`, pid: attached.pid, image: attached.image}, `${attached.image} is attached to /dev/${attached.device} (qemu-nbd pid ${attached.pid})\nwhen done: tdx-wizard nbd detach /dev/${attached.device}`);
      }),
    );

  nbd
    .command('detach')
    .description('flush, disconnect and confirm /dev/nbdN is free (refuses while mounted or held)')
    .argument('<device>', '/dev/nbdN')
    .option('--confirm <device>', 'the device again, to detach one this wizard did not attach')
    .action(
      action('nbd-detach', async (ctx, [device], opts) => {
        const name = deviceName(device!);
        if (!ctx.runner.dryRun) requireRoot(`detaching /dev/${name}`, 'flushing and disconnecting an NBD device opens it, which only root may do', `sudo tdx-wizard nbd detach /dev/${name}`);
        const roots = hostRoots();
        const dev = await readDevice(roots, name);
        const record = (await readRecords()).find((r) => r.device === name);
        if (dev && dev.state !== 'free' && !(record && dev.image === record.image)) {
          await confirmTyped(`/dev/${name}`, `Detaching /dev/${name} cuts off ${dev.reason}; whatever uses it gets I/O errors.`, opts.confirm as string | undefined);
        }
        const r = await detachDevice(ctx.runner, name, {roots});
        ctx.reporter.result({...r, device: `/dev/${r.device}`}, [r.alreadyFree ? `/dev/${name} was already free` : `/dev/${name} is detached and free; qemu-nbd has exited`, ...r.notes.filter((n) => !r.alreadyFree || !n.includes('already free'))].join('\n'));
      }),
    );

  nbd
    .command('recover')
    .description('find what an earlier run left attached, and offer to detach it')
    .option('--yes', 'detach what an earlier run left attached without asking')
    .action(
      action('nbd-recover', async (ctx, _args, opts) => {
        const items = await recoverStale(ctx.runner, hostRoots(), {
          decide: async (item) => {
            const yes = Boolean(opts.yes) || (await askYesNo(`${item.detail}. Detach /dev/${item.device}?`, '--yes'));
            if (yes && !ctx.runner.dryRun) requireRoot(`detaching /dev/${item.device}`, 'flushing and disconnecting an NBD device opens it, which only root may do', 'sudo tdx-wizard nbd recover --yes');
            return yes;
          },
        });
        ctx.reporter.result({items}, recoverText(items));
        return items.some((i) => i.error) ? 1 : 0;
      }),
    );
}

function deviceTable(devices: NbdDevice[]): string {
  const rows = devices.map((d) => [
    `/dev/${d.name}`,
    d.state,
    d.pid === undefined ? '-' : `${d.pid}${d.serverAlive ? '' : ' (dead)'}`,
    d.sizeBytes ? formatBytes(d.sizeBytes) : '0',
    d.image ?? (d.server && d.server !== 'qemu-nbd' ? `(${d.server})` : '-'),
    d.partitions.join(',') || '-',
    d.holders.join(',') || '-',
    d.mounts.map((m) => `${m.source} on ${m.target}`).join(', ') || '-',
  ]);
  const head = ['DEVICE', 'STATE', 'PID', 'SIZE', 'IMAGE', 'PARTS', 'HOLDERS', 'MOUNTS'];
  const out = [columns([head, ...rows])];
  for (const d of devices.filter((x) => x.state === 'stale' || x.state === 'stuck')) out.push(`/dev/${d.name}: ${d.reason}`);
  return out.join('\n');
}

function recoverText(items: RecoverItem[]): string {
  if (!items.length) return 'nothing to recover: no device left attached by an earlier run';
  return items
    .map((i) => `/dev/${i.device}: ${i.finding}, ${i.action}: ${i.detail}${i.error ? `\n  failed: ${i.error}` : ''}${i.fix && i.action !== 'detached' ? `\n  fix: ${i.fix}` : ''}`)
    .join('\n');
}
