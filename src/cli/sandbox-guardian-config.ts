import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../config/load';
import { sandboxConfigDocument, type SandboxClusterTuning } from '../config/sandbox';
import type { GuardianConfig } from '../config/schema';
import { LABELS, type SandboxInfo } from '../sandbox';

/** Short intervals, so that a fault in the sandbox is acted on within seconds. */
const SANDBOX_TUNING: SandboxClusterTuning = { interval: '2s', endpointTimeout: '1s', hysteresisSamples: 3, cooldown: '1m' };

/**
 * The guardian's config for a running sandbox: its Temporal server, kubeconfig and etcd cluster (with the TLS file
 * paths when the members run TLS), tuned by `tuning`.
 */
export function sandboxGuardianConfigDocument(info: SandboxInfo, tuning: SandboxClusterTuning = SANDBOX_TUNING): Record<string, unknown> {
  if (!info.temporal) throw new Error('the sandbox was started without Temporal (--no-temporal): the guardian needs one');
  return sandboxConfigDocument(
    {
      temporalAddress: info.temporal.address,
      namespace: info.temporal.namespace,
      kubeconfig: info.kubeconfig,
      etcdNamespace: info.etcd.namespace,
      etcdCluster: info.etcd.cluster,
      selector: info.etcd.selector,
      rackLabel: LABELS.rack,
      domainLabel: LABELS.zone,
      backupDirectory: join(info.stateDir, 'backups'),
      ...(info.objectStore ? { objectStore: info.objectStore } : {}),
      ...(info.etcd.binDirectory !== undefined ? { etcdBinDirectory: info.etcd.binDirectory } : {}),
      desiredVoters: info.etcd.members.length,
      ...(info.etcd.tls ? { tls: info.etcd.tls } : {}),
      ...(info.etcd.workload === 'statefulset' && info.etcd.statefulSet ? { statefulSet: { name: info.etcd.statefulSet.name, claimTemplate: info.etcd.statefulSet.claimTemplate } } : {}),
    },
    tuning,
  );
}

/** Validates that config and writes it to `<stateDir>/guardian.yaml`; returns the parsed config and the path. */
export function writeSandboxGuardianConfig(info: SandboxInfo): { config: GuardianConfig; path: string } {
  const document = sandboxGuardianConfigDocument(info);
  const path = join(info.stateDir, 'guardian.yaml');
  const config = parseConfig(document, path);
  writeFileSync(path, stringify(document));
  return { config, path };
}
