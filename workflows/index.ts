/** Every workflow the worker registers. The bundler starts here. */
export { migrateMember } from './migrate';
export { monitorCluster } from './monitor';
export { repairMembership } from './repair';
export { maintainCluster } from './maintain';
export { backupCluster } from './backup';
export { recoverCluster } from './recover';
export { fleetCoordinator } from './fleet';
