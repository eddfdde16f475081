// `qemu-img check` after every write: 0 is clean, 3 is leaked clusters only (harmless, repaired
// with -r leaks); 2 is corruption and stops everything. A clean check does not prove the data is
// there (disk-safety.md §2.5), which is why writes end with a graceful detach.
import {StepError} from '../errors.js';
import type {Runner} from '../runner/runner.js';

export async function qemuImgCheck(runner: Runner, path: string, format: 'qcow2' | 'raw'): Promise<string> {
  if (format !== 'qcow2') return 'raw image: nothing for qemu-img check to check';
  const r = await runner.run({cmd: 'qemu-img', args: ['check', '-f', 'qcow2', '--', path], title: 'Check the qcow2 structure', okExitCodes: [0, 3], check: false});
  if (r.exitCode === 0) return 'qemu-img check: no errors';
  if (r.exitCode === 3) {
    await runner.run({cmd: 'qemu-img', args: ['check', '-r', 'leaks', '-f', 'qcow2', '--', path], title: 'Repair leaked clusters (harmless)'});
    return 'qemu-img check: leaked clusters repaired';
  }
  const meaning = r.exitCode === 2 ? 'the image is corrupt' : r.exitCode === 1 ? 'qemu-img could not check it' : `exit code ${r.exitCode}`;
  throw new StepError(`qemu-img check: ${meaning}`, 'check', r.tail, `inspect it with: qemu-img check -f qcow2 ${path} (do not run -r all without a backup)`);
}
