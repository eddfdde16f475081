import {inspectVolume} from './inspect.js';
import type {VolumeVerdict} from './verdict.js';

/** Whether the guest will accept the volume as its cache; used by verify, launch and the wizard. */
export async function verifyVolume(path: string): Promise<VolumeVerdict> {
  const {verdict, accepted, reason, fix} = await inspectVolume(path);
  return {path, verdict, accepted, reason, ...(fix ? {fix} : {})};
}
