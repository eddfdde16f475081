// containerd's configuration for guest pull, as Kata's guest image management asks for it (seed
// 002): the nydus snapshotter as a proxy plugin, snapshot annotations passed on
// (disable_snapshot_annotations = false), and the Kata runtime's own snapshotter set to nydus.
// Read with smol-toml, never written: a finding says which lines to add, and where.
import {readFile} from 'node:fs/promises';
import {parse, TomlError} from 'smol-toml';
import {check, type Check} from '../host/check-types.js';
import {changeAt, type ContainerdConfig} from './containerd-config.js';

type Table = Record<string, unknown>;

const NYDUS_SOCKET = '/run/containerd-nydus/containerd-nydus-grpc.sock';

/** Where a config of each version keeps the settings (containerd 1.x: versions 1 and 2; 2.x: 3). */
function tables(version: number, handler: string) {
  const cri = version === 1 ? 'cri' : 'io.containerd.grpc.v1.cri';
  const images = version === 3 ? ['plugins', 'io.containerd.cri.v1.images'] : ['plugins', cri, 'containerd'];
  const runtime = version === 3 ? ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes', handler] : ['plugins', cri, 'containerd', 'runtimes', handler];
  return {images, runtime, nydus: ['proxy_plugins', 'nydus']};
}

/** A table path as its TOML header: [plugins."io.containerd.grpc.v1.cri".containerd]. */
const header = (path: string[]) => `[${path.map((k) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : `"${k}"`)).join('.')}]`;

function at(doc: Table, path: string[]): Table | undefined {
  let t: unknown = doc;
  for (const k of path) t = t && typeof t === 'object' ? (t as Table)[k] : undefined;
  return t && typeof t === 'object' ? (t as Table) : undefined;
}

type Change = ReturnType<typeof changeAt>;

/** The fix for keys missing or wrong in a table: set them in it when it exists (a second header would break the file), else add it. */
function fixFor(change: Change, doc: Table | undefined, path: string[], lines: string[]): string {
  const body = lines.map((l) => `  ${l}`).join('\n');
  if (doc && at(doc, path)) return `${change.preface}in the table ${header(path)} that ${change.file} has, set:\n${body}\n${change.restart}`;
  return `${change.preface}add to ${change.file}:\n${header(path)}\n${body}\n${change.restart}`;
}

const shown = (v: unknown) => (v === undefined ? 'not set' : JSON.stringify(v));

export async function containerdChecks(config: ContainerdConfig, handler: string, handlerSource: string): Promise<Check[]> {
  const file = config.path;
  const titles = {
    nydus: 'containerd: the nydus snapshotter proxy plugin (guest pull)',
    annotations: 'containerd: snapshot annotations passed on to the snapshotter',
    runtime: `containerd: the ${handler} runtime pulls its images in the guest (snapshotter nydus)`,
  };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const said = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    const t = tables(2, handler);
    const summary = `no containerd configuration at ${file} (containerd's defaults do not pull in the guest); if containerd runs on this node, it needs these`;
    const change = changeAt(config, 2);
    const all = `create ${change.file} with:\nversion = 2\n${header(t.nydus)}\n  type = "snapshot"\n  address = "${NYDUS_SOCKET}"\n${header(t.images)}\n  disable_snapshot_annotations = false\n${header(t.runtime)}\n  snapshotter = "nydus"\n${change.restart}`;
    return [check('trusted:containerd-nydus', titles.nydus, 'warn', summary, [{source: file, said}], all)];
  }
  let doc: Table;
  try {
    doc = parse(text) as Table;
  } catch (error) {
    const where = error instanceof TomlError ? ` at line ${error.line}, column ${error.column}` : '';
    const first = (error as Error).message.split('\n')[0] ?? '';
    return [check('trusted:containerd-nydus', titles.nydus, 'fail', `${file} is not valid TOML${where}: containerd would not start with it`, [{source: file, said: first}], `mend ${file}${where} (containerd config dump shows what containerd reads)`)];
  }
  const version = typeof doc.version === 'number' ? doc.version : 1;
  const t = tables(version, handler);
  const change = changeAt(config, version);
  const evidence = (path: string[], key: string, value: unknown) => [{source: file, said: `${key} = ${shown(value)}`}, {source: 'read at', said: `${header(path)} (config version ${version})`}];
  const out: Check[] = [];

  const nydus = at(doc, t.nydus);
  const nydusOk = nydus?.type === 'snapshot' && typeof nydus.address === 'string';
  out.push(
    nydusOk
      ? check('trusted:containerd-nydus', titles.nydus, 'ok', `proxy plugin nydus at ${String(nydus.address)}`, evidence(t.nydus, 'address', nydus.address))
      : check('trusted:containerd-nydus', titles.nydus, 'fail', 'no nydus snapshotter proxy plugin: images would be pulled on the host', evidence(t.nydus, 'type', nydus?.type), fixFor(change, doc, t.nydus, ['type = "snapshot"', `address = "${NYDUS_SOCKET}"`])),
  );

  const annotations = at(doc, t.images)?.disable_snapshot_annotations;
  out.push(
    annotations === false
      ? check('trusted:containerd-annotations', titles.annotations, 'ok', 'disable_snapshot_annotations = false', evidence(t.images, 'disable_snapshot_annotations', annotations).slice(0, 1))
      : check('trusted:containerd-annotations', titles.annotations, 'fail', `disable_snapshot_annotations is ${shown(annotations)} (containerd's default is true): nydus is not told which image to pull in the guest`, evidence(t.images, 'disable_snapshot_annotations', annotations), fixFor(change, doc, t.images, ['disable_snapshot_annotations = false'])),
  );

  const snapshotter = at(doc, t.runtime)?.snapshotter;
  const runtimeEvidence = [...evidence(t.runtime, 'snapshotter', snapshotter), {source: 'the runtime handler', said: `${handler} (${handlerSource})`}];
  out.push(
    snapshotter === 'nydus'
      ? check('trusted:containerd-runtime', titles.runtime, 'ok', `runtime ${handler}: snapshotter = "nydus"`, runtimeEvidence)
      : check('trusted:containerd-runtime', titles.runtime, 'fail', `runtime ${handler}: snapshotter is ${shown(snapshotter)}: its pods pull images on the host`, runtimeEvidence, fixFor(change, doc, t.runtime, ['snapshotter = "nydus"'])),
  );
  return out;
}
