// The NBD layer's public API. Other parts import from here.
export {attachImage, type Attachment, type AttachOptions} from './attach.js';
export {detachDevice, type DetachOptions, type DetachResult} from './detach.js';
export {deviceName, listDevices, readDevice, type DeviceState, type NbdDevice} from './devices.js';
export {loadModule, readModule, type LoadResult, type ModuleInfo} from './load.js';
export {imageInUse, probeImage, type ImageProbe} from './lock.js';
export {recoverStale, type Finding, type RecoverItem, type RecoverOptions} from './recover.js';
export {readRecords, statePath, type NbdRecord} from './state.js';
