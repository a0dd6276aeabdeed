/** The sandbox's public API: start, fault, heal, status and stop a local world of real components. */
export { Sandbox } from './sandbox';
export { DEFAULTS, MEMBER_COUNTS, type SandboxOptions, type SandboxUser } from './options';
export { FAULT_KINDS, parseFaultKind, type FaultKind, type PressureLevels } from './faults';
export { MEMORY_PRESSURE_THRESHOLD, NODE_RESOURCES, baselineUsage, type UsageFractions } from './nodes/usage';
export { ETCD_CLUSTER, ETCD_LABELS, ETCD_NAMESPACE, ETCD_SELECTOR } from './etcd-cluster';
export { LABELS, type NodeLayout } from './topology';
export { binDir, cacheDir } from './binaries';
export { MissingBinaryError, SandboxArgumentError, SandboxNotRunningError, SandboxStartError } from './errors';
export type { FaultRequest, MemberStatusReport, NodeStatusReport, SandboxInfo, SandboxStatus } from './types';
