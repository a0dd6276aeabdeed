/**
 * Simulated node usage. Each node idles at a steady baseline derived from its name (so a run is reproducible); a
 * node-pressure fault replaces it. Fractions are of the node's allocatable resources.
 */

/** CPU and memory usage as fractions of allocatable (0..1). */
export interface UsageFractions {
  cpu: number;
  memory: number;
}

/** What every simulated node offers: 4 CPUs and 16 GiB, all allocatable (no system reservation). */
export const NODE_RESOURCES = { cpuMillis: 4_000, memoryBytes: 16 * 1024 ** 3, pods: 110 } as const;

/**
 * Memory usage at or above which the node reports MemoryPressure=True. The real kubelet's default hard eviction
 * threshold is memory.available<100Mi; a fraction keeps the sandbox's rule readable: 90% of allocatable.
 */
export const MEMORY_PRESSURE_THRESHOLD = 0.9;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The idle usage of a node: CPU 10-30%, memory 20-35%, fixed per node name. */
export function baselineUsage(nodeName: string): UsageFractions {
  const hash = fnv1a(nodeName);
  return {
    cpu: Math.round((0.1 + ((hash % 2001) / 2000) * 0.2) * 1000) / 1000,
    memory: Math.round((0.2 + (((hash >>> 11) % 1501) / 1500) * 0.15) * 1000) / 1000,
  };
}

/** Usage as metrics.k8s.io reports it: CPU in nanocores, memory in KiB, as metrics-server writes them. */
export function usageQuantities(usage: UsageFractions): { cpu: string; memory: string } {
  const nanocores = Math.round(usage.cpu * NODE_RESOURCES.cpuMillis * 1e6);
  const kibibytes = Math.round((usage.memory * NODE_RESOURCES.memoryBytes) / 1024);
  return { cpu: `${nanocores}n`, memory: `${kibibytes}Ki` };
}
