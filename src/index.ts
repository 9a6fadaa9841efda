/** devpager: the public API (README.md and docs/ describe it). */
export * from './constants.js';
export { SyscallError, SignalError, ProcessSignalError, ERRNO, SIGNAL, SI_CODE } from './errors.js';
export type { ErrnoName, SignalName, SiCodeName, SigInfo } from './errors.js';
export { defineDriver, regionMmap } from './driver.js';
export type { Driver, DevHandle, Region, NamedRegion, MmioRegionSpec } from './driver.js';
export { KernelApi } from './kernel.js';
export { Runtime } from './runtime/runtime.js';
export type { RuntimeOptions, DeviceConfig, ProcessResourceLimits } from './runtime/options.js';
export type { ProcessHandle, ProcessStatus } from './runtime/process-table.js';
export type { DeviceHandle, DoorbellHandler } from './runtime/devices.js';
export type { PinPlan } from './affinity.js';
export type { RuntimeStats } from './runtime-stats.js';
export type { Process, ThreadHandle, ChildHandle, ChildStatus } from './process/types.js';
export type { WaitStrategy } from './wait.js';
export { MAX_MEMORY } from './physmem.js';
export type { ProfileReport, OverheadNote, TraceSummary } from './report/types.js';
export type { ProfileOptions } from './profile/collect.js';
export type { ProfilePaths, WrittenProfile } from './profile/write.js';
