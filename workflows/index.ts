/** Every workflow the worker registers. The bundler starts here. */
export { monitorCluster } from './monitor';
