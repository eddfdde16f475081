// tdx-wizard quick-launch-config: the config.yaml for upstream's quick-launch.sh (E4, E5) that
// passes the schema beside it, for a set `prepare` made; quick-launch.sh then reuses the set and the
// config volume and never sees the seed (src/vm/quick-launch-config.ts says how).
import type {Command} from 'commander';
import {existsSync, writeFileSync} from 'node:fs';
import {resolve} from 'node:path';
import {action} from '../cli/program.js';
import {UsageError} from '../errors.js';
import {detectEra} from '../era/detect.js';
import type {Role} from '../era/eras.js';
import {defaultRouteIface} from '../host/era-checks.js';
import {hostRoots} from '../host/roots.js';
import {inspectVolume} from '../volume/inspect.js';
import {setPaths} from '../volume/set.js';
import {quickLaunchConfig} from '../vm/quick-launch-config.js';
import {validateHostname} from '../vm/fields.js';

export function register(program: Command): void {
  program
    .command('quick-launch-config')
    .description("write the config.yaml for upstream's quick-launch.sh (February 2026 on) that passes its schema, for the set prepare made: it reuses the set and the config volume, and the seed stays out of it")
    .requiredOption('--launcher <path>', 'the quick-launch.sh (host-tools/scripts/quick-launch.sh)')
    .requiredOption('--dir <dir>', 'the directory of the prepared set')
    .requiredOption('--hostname <name>', 'the VM hostname the set was prepared for')
    .requiredOption('--image <path>', 'the guest image (vm.image: quick-launch.sh requires it)')
    .option('--network-type <type>', 'tap (quick-launch.sh runs setup-bridge.sh) or user', 'tap')
    .option('--out <file>', 'write it here (0600; refused if it exists), else print it')
    .action(
      action('quick-launch-config', async (ctx, _args, opts) => {
        const launcher = resolve(String(opts.launcher));
        if (!existsSync(launcher)) throw new UsageError(`no file at ${launcher}`, 'give host-tools/scripts/quick-launch.sh of an upstream checkout');
        const host = validateHostname(String(opts.hostname));
        if (!host.ok) throw new UsageError(host.message, host.fix);
        const type = String(opts.networkType);
        if (type !== 'tap' && type !== 'user') throw new UsageError(`quick-launch.sh takes the network types tap and user, not "${type}"`, '--network-type tap or --network-type user');
        const found = await detectEra(launcher);
        if (!found) throw new UsageError(`${launcher} carries no upstream signature`, 'give the quick-launch.sh of an upstream checkout, February 2026 or later');
        const {era} = found;
        const roles: Role[] = ['cache', 'storage', 'config'];
        if (!roles.every((r) => era.volumes.some((v) => v.role === r))) {
          throw new UsageError(`${launcher} is of ${era.id} (${found.evidence}), whose quick-launch.sh takes no cache + storage + config set`, 'quick-launch-config is for the quick-launch.sh of February 2026 and later (E4, E5)');
        }
        const image = resolve(String(opts.image));
        if (!existsSync(image)) throw new UsageError(`the guest image ${image} does not exist`, 'give the path of tdx-guest.qcow2');
        const paths = setPaths(era, resolve(String(opts.dir)), host.value);
        const volumes = Object.fromEntries(roles.map((r) => [r, paths.get(r)!])) as Record<Role, string>;
        const sizes = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, existsSync(volumes[r]) ? (await inspectVolume(volumes[r])).virtualSize ?? 0 : 0])));
        const publicIface = await defaultRouteIface(hostRoots());
        const out = await quickLaunchConfig({era, launcher, volumes, image, networkType: type, ...(publicIface ? {publicIface} : {})}, sizes);
        if (opts.out !== undefined) {
          const file = resolve(String(opts.out));
          try {
            writeFileSync(file, out.yaml, {mode: 0o600, flag: 'wx'});
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${file} already exists`, 'give another --out, or remove it first');
            throw error;
          }
        }
        ctx.reporter.result({ok: true, era: era.id, schema: out.schema, config: out.config, ...(opts.out !== undefined ? {file: resolve(String(opts.out))} : {})}, opts.out !== undefined ? `wrote ${resolve(String(opts.out))} (${era.id}, checked against ${out.schema})` : out.yaml.trimEnd());
        return 0;
      }),
    );
}
