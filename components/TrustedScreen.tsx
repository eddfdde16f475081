// Trusted storage for confidential containers: a form (name, size, directory, node, runtime class,
// namespace, storage class), then the checks (trusted-storage check) with the one highlighted shown
// in full, then create on the run screen. A host finding that makes create pointless (no losetup,
// no free loop device, no systemd) leaves "Make it" unavailable; the rest are warnings.
import {useEffect, useState} from 'react';
import {Box} from 'ink';
import {hostname} from 'node:os';
import type {Check} from '../src/host/check-types.js';
import {CLUSTER_CHECKS, HOST_CHECKS} from '../src/trusted/check-ids.js';
import {DNS_LABEL} from '../src/trusted/names.js';
import type {TrustedRequest} from '../src/trusted/plan.js';
import type {TeardownPlan} from '../src/trusted/teardown.js';
import {Form, type FieldSpec} from './Form.js';
import {Menu, type MenuItem} from './Menu.js';
import type {ScreenProps} from './screens.js';
import {TypedConfirm} from './TypedConfirm.js';
import {Wrapped} from './Wrapped.js';
import {CheckDetail, statusMark} from './checks/CheckDetail.js';
import {checksSummary, sortChecks} from './checks/ChecksScreen.js';

const OK = {ok: true} as const;
const required = (what: string) => (v: string) => (v.trim() ? OK : {ok: false as const, message: `${what} is needed`});

const FIELDS: FieldSpec[] = [
  {name: 'name', label: 'Name', initial: 'trusted-store-1', hint: 'names the file, the unit and the objects (NAME-pv, NAME-pvc, NAME-example)', validate: (v) => (DNS_LABEL.test(v) && v.length <= 55 ? OK : {ok: false, message: 'lower-case letters, digits and "-", at most 55, a letter or digit at each end'})},
  {name: 'size', label: 'Size', initial: '100G', hint: 'allocated in full (fallocate), e.g. 100G', validate: required('a size')},
  {name: 'dir', label: 'Directory', initial: '/var/lib/tdx-wizard/trusted', hint: 'where NAME.img, its manifests and its record go', validate: required('a directory')},
  {name: 'node', label: 'Node name', initial: hostname(), hint: 'as kubectl get nodes shows it', validate: required('the node name')},
  {name: 'runtimeClass', label: 'Runtime class', initial: 'kata-qemu-tdx', validate: required('a runtime class')},
  {name: 'namespace', label: 'Namespace', initial: 'default', validate: required('a namespace')},
  {name: 'storageClass', label: 'Storage class', initial: '', hint: 'empty: make a local one; or an existing block class, e.g. open-local-lvm'},
];

export function requestOf(v: Record<string, string>): TrustedRequest {
  return {name: v.name!, size: v.size!, dir: v.dir!, node: v.node!, runtimeClass: v.runtimeClass!, namespace: v.namespace!, storageClass: v.storageClass?.trim() || undefined, image: 'busybox:1.36', unitDir: '/etc/systemd/system'};
}

export function TrustedScreen({controller, go, size, setEditing}: ScreenProps) {
  const [values, setValues] = useState<Record<string, string>>();
  const [checks, setChecks] = useState<Check[]>();
  const [error, setError] = useState<string>();
  const [highlighted, setHighlighted] = useState<string>('make');
  // Trusted storage of this name already made in this directory: it can be removed here (typed name).
  const [existing, setExisting] = useState<{plan?: TeardownPlan; refused?: string}>();
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    setEditing(!values || confirming);
    return () => setEditing(false);
  }, [values, confirming, setEditing]);

  if (!values) {
    return (
      <Box flexDirection="column" width={size.width}>
        <Wrapped text="A block device from this host for a confidential container's trusted storage (/dev/trusted_store): a file, a loop device a systemd unit keeps across reboots, and the StorageClass, PersistentVolume, claim and example pod. The checks come next; nothing is made before you choose it." width={size.width} maxRows={3} toneName="muted" />
        <Form
          width={size.width}
          fields={FIELDS.map((f) => ({...f, initial: controller.draft('trusted')[f.name] ?? f.initial}))}
          onChange={(v) => Object.assign(controller.draft('trusted'), v)}
          onSubmit={(v) => {
            setValues(v);
            setChecks(undefined);
            setError(undefined);
            setExisting(undefined);
            controller.trustedChecks({runtimeClass: v.runtimeClass!, node: v.node!}).then((list) => setChecks(sortChecks(list)), (e: Error) => setError(e.message));
            controller.trustedTeardownPlan(v.name!, v.dir!).then(
              (plan) => setExisting({plan}),
              (e: Error) => setExisting(/^no record of/.test(e.message) ? {} : {refused: e.message}),
            );
          }}
          onBack={() => go({name: 'menu'})}
        />
      </Box>
    );
  }

  if (confirming && existing?.plan) {
    const plan = existing.plan;
    const file = plan.unfinished ? plan.recordPath : plan.rec.file;
    return (
      <TypedConfirm
        width={size.width}
        title={`Remove trusted storage ${values.name}`}
        lines={
          plan.unfinished
            ? ['Its create was stopped before it made anything: only its unfinished record goes.']
            : [`This destroys ${file} and everything the guest stored on it.`, `Also removed: the unit ${plan.rec.unit}, its loop device, ${plan.rec.manifests} and the record. The Kubernetes objects stay: kubectl delete -f ${plan.rec.manifests} first if they were applied.`]
        }
        expected={values.name!}
        onCancel={() => setConfirming(false)}
        onConfirm={() => go({name: 'run', title: `remove trusted storage ${values.name}`, changesDisk: true, action: () => controller.trustedTeardown(values.name!, values.dir!), back: {name: 'menu'}})}
      />
    );
  }

  const list = checks ?? [];
  const blocking = list.filter((c) => c.status !== 'ok' && HOST_CHECKS.includes(c.id));
  // Applying needs the cluster: kubectl, its context, the API server, the runtime class and the node all found.
  const noCluster = list.filter((c) => c.status !== 'ok' && CLUSTER_CHECKS.includes(c.id));
  const cannotMake = !checks || blocking.length > 0 || Boolean(existing?.plan);
  const items: MenuItem[] = [
    {value: 'make', label: `Make ${values.name}: ${values.size} in ${values.dir}, a loop device, unit tdx-wizard-trusted-${values.name}.service, the manifests`, disabled: !checks || blocking.length > 0 || Boolean(existing?.plan), why: existing?.plan ? 'made already: remove it first, or choose another name' : blocking.length ? blocking.map((c) => c.summary).join('; ') : checks ? undefined : 'checking'},
    ...(existing?.plan || existing?.refused
      ? [{value: 'remove', label: `Remove ${values.name}: its file, loop device, unit and manifests`, destructive: true, disabled: Boolean(existing.refused), why: existing.refused}]
      : []),
    {value: 'apply', label: 'Make it and kubectl apply the manifests (then the claim and the pod)', disabled: cannotMake || noCluster.length > 0, why: !cannotMake && noCluster.length ? noCluster.map((c) => c.summary).join('; ') : undefined},
    {value: 'edit', label: 'Change the values'},
    {value: 'menu', label: 'Back to the menu'},
    ...list.map((c) => ({value: `check:${c.id}`, label: `${statusMark(c.status)} ${c.title}`, description: c.status === 'ok' ? undefined : c.summary})),
  ];
  const shown = list.find((c) => `check:${c.id}` === highlighted) ?? list.find((c) => c.status !== 'ok');
  const menuRows = Math.min(items.length, Math.max(5, Math.floor((size.height - 2) / 2)));
  const make = (apply = false) =>
    go({name: 'run', title: `trusted storage ${values.name}${apply ? ', applied' : ''}`, changesDisk: true, action: () => controller.trustedCreate(requestOf(values), apply), back: {name: 'menu'}});
  return (
    <Box flexDirection="column" width={size.width} height={size.height}>
      <Box height={2}>
        <Wrapped text={error ?? (checks ? checksSummary(list) : 'checking losetup, systemd, kubectl, the cluster and containerd...')} width={size.width} maxRows={2} toneName={blocking.length ? 'warn' : 'muted'} />
      </Box>
      <Menu
        key={checks ? 'checked' : 'checking'} // Make is highlighted once it can be chosen, not the item after it
        width={size.width}
        height={menuRows}
        items={items}
        initialValue="make"
        onHighlight={(item) => setHighlighted(item.value)}
        onBack={() => setValues(undefined)}
        onSelect={(item) =>
          item.value === 'make' ? make() : item.value === 'apply' ? make(true) : item.value === 'remove' ? setConfirming(true) : item.value === 'edit' ? setValues(undefined) : item.value === 'menu' ? go({name: 'menu'}) : setHighlighted(item.value)
        }
      />
      {shown ? <CheckDetail check={shown} width={size.width} rows={Math.max(0, size.height - menuRows - 3)} /> : null}
    </Box>
  );
}
