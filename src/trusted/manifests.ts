// The Kubernetes objects that hand a confidential container (Kata, runtime class kata-qemu-tdx) a
// host block device for trusted storage: a StorageClass (local, no provisioner) unless an existing
// block class is named, a PersistentVolume pinned to this node with volumeMode Block on the loop
// device, a PersistentVolumeClaim for it, and an example pod with the device at /dev/trusted_store.
// Built with kubernetes-models and validated offline against the Kubernetes schemas it carries;
// written as one multi-document YAML with the yaml library.
import {PersistentVolume} from 'kubernetes-models/v1/PersistentVolume';
import {PersistentVolumeClaim} from 'kubernetes-models/v1/PersistentVolumeClaim';
import {Pod} from 'kubernetes-models/v1/Pod';
import {StorageClass} from 'kubernetes-models/storage.k8s.io/v1/StorageClass';
import {stringify} from 'yaml';
import {UsageError} from '../errors.js';

export interface TrustedInput {
  name: string;
  namespace: string;
  node: string;
  sizeBytes: number;
  /** The loop device the PV names (kept by the systemd unit across reboots). */
  device: string;
  /** The class the PV and claim use; `ownClass` when this flow makes it. */
  storageClass: string;
  ownClass: boolean;
  runtimeClass: string;
  image: string;
}

export const DEVICE_PATH = '/dev/trusted_store';

/** The objects in the order kubectl applies them. */
export function trustedObjects(i: TrustedInput): Array<{kind: string; name: string; json: Record<string, unknown>}> {
  const labels = {'app.kubernetes.io/managed-by': 'tdx-wizard', 'tdx-wizard/trusted-storage': i.name};
  const storage = `${i.sizeBytes}`; // bytes, exactly the file's size: a PV larger than its device would lie
  const objects = [
    ...(i.ownClass ? [new StorageClass({metadata: {name: i.storageClass, labels}, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Retain'})] : []),
    new PersistentVolume({
      metadata: {name: `${i.name}-pv`, labels},
      spec: {
        capacity: {storage},
        volumeMode: 'Block',
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: i.storageClass,
        local: {path: i.device},
        nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: 'kubernetes.io/hostname', operator: 'In', values: [i.node]}]}]}},
      },
    }),
    new PersistentVolumeClaim({
      metadata: {name: `${i.name}-pvc`, namespace: i.namespace, labels},
      spec: {volumeMode: 'Block', accessModes: ['ReadWriteOnce'], storageClassName: i.storageClass, resources: {requests: {storage}}, volumeName: `${i.name}-pv`},
    }),
    new Pod({
      metadata: {name: `${i.name}-example`, namespace: i.namespace, labels},
      spec: {
        runtimeClassName: i.runtimeClass,
        nodeName: i.node,
        containers: [{name: 'app', image: i.image, command: ['sleep', 'infinity'], volumeDevices: [{name: 'trusted', devicePath: DEVICE_PATH}]}],
        volumes: [{name: 'trusted', persistentVolumeClaim: {claimName: `${i.name}-pvc`}}],
      },
    }),
  ];
  return objects.map((o) => {
    try {
      o.validate();
    } catch (error) {
      throw new UsageError(`the ${o.kind} for ${i.name} would not pass the Kubernetes schema: ${(error as Error).message}`, 'check the names and the size given');
    }
    const json = o.toJSON() as Record<string, unknown>;
    return {kind: String(o.kind), name: String((json.metadata as {name: string}).name), json};
  });
}

export function manifestsYaml(i: TrustedInput): string {
  const header = `# tdx-wizard trusted-storage ${i.name}: ${i.device} on node ${i.node}, ${i.sizeBytes} bytes; the guest encrypts it (dm-crypt, dm-integrity) and uses it at ${DEVICE_PATH}\n`;
  return header + trustedObjects(i).map((o) => stringify(o.json)).join('---\n');
}
