// A stand-in for kubectl against a cluster (no cluster can run here), first on PATH: it records
// every argv in `log` and answers as the scenario's cluster would, with kubectl's own words.
import {mkdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {shellWord} from './reliability.js';

export interface Cluster {
  /** The kubeconfig's current context; undefined: none set. */
  context?: string;
  /** The API server answers. */
  reachable: boolean;
  /** RuntimeClass name → handler. */
  runtimeClasses?: Record<string, string>;
  nodes?: string[];
}

export function standInKubectl(bin: string, log: string, c: Cluster): void {
  mkdirSync(bin, {recursive: true});
  const refused = 'The connection to the server localhost:8080 was refused - did you specify the right host or port?';
  const classes = Object.entries(c.runtimeClasses ?? {}).map(([name, handler]) => `  runtimeclass/${name}) printf %s ${shellWord(handler)};;`);
  const nodes = (c.nodes ?? []).map((n) => `  node/${n}) echo node/${n};;`);
  writeFileSync(
    join(bin, 'kubectl'),
    `#!/bin/sh
# stands for kubectl against a cluster: context ${c.context ?? '(none)'}, ${c.reachable ? 'reachable' : 'unreachable'}
echo "$@" >> ${shellWord(log)}
case "$1 $2" in
'config current-context') ${c.context ? `echo ${shellWord(c.context)}; exit 0` : 'echo "error: current-context is not set" >&2; exit 1'};;
esac
${c.reachable ? '' : `[ "$1" = version ] && echo '{"clientVersion":{"gitVersion":"v1.30.2"}}' # as kubectl does: the client's part, then the error
echo ${shellWord(refused)} >&2; exit 1`}
case "$1" in
version) echo '{"clientVersion":{"gitVersion":"v1.30.2"},"serverVersion":{"gitVersion":"v1.30.1"}}';;
apply|delete) echo "applied: $*";;
get)
  case "$2/$3" in
${[...classes, ...nodes].join('\n')}
  runtimeclass/*|node/*) echo "Error from server (NotFound): $2 \\"$3\\" not found" >&2; exit 1;;
  pvc/*) printf Bound;;
  pod/*) printf Running;;
  esac;;
esac
`,
    {mode: 0o755},
  );
}

/** A containerd config as seed 002 asks for it (version 2), for `handler`. */
export function guestPullConfig(handler: string): string {
  return `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  disable_snapshot_annotations = false
  discard_unpacked_layers = false
[proxy_plugins.nydus]
  type = "snapshot"
  address = "/run/containerd-nydus/containerd-nydus-grpc.sock"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}]
  runtime_type = "io.containerd.kata-qemu-tdx.v2"
  snapshotter = "nydus"
`;
}
