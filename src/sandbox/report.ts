import { type SandboxInfo, type SandboxStatus } from './types';

/** Plain-text renderings of a sandbox's info and status for the terminal. Pure. */

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** Where everything is, as `sandbox up` prints it. */
export function renderInfo(info: SandboxInfo): string {
  const lines = [
    `  state dir       ${info.stateDir}`,
    `  kubeconfig      ${info.kubeconfig}`,
    `  kube-apiserver  ${info.apiServerUrl}`,
  ];
  if (info.temporal !== undefined) {
    lines.push(`  Temporal        ${info.temporal.address} (namespace ${info.temporal.namespace})`, `  Temporal UI     ${info.temporal.uiUrl}`);
  }
  lines.push(
    ...(info.etcd.version === undefined ? [] : [`  etcd version    ${info.etcd.version}`]),
    `  etcd endpoints  ${info.etcd.clientUrls.join(',')}`,
    `  etcd pods       namespace ${info.etcd.namespace}, selector ${info.etcd.selector}`,
    ...(info.etcd.statefulSet === undefined
      ? info.etcd.workload === 'pods'
        ? ['  etcd workload   bare pods (one per member, made by the sandbox)']
        : []
      : [
          `  etcd workload   StatefulSet ${info.etcd.statefulSet.name} (headless Service ${info.etcd.statefulSet.serviceName}, claims ${info.etcd.statefulSet.claimTemplate}-${info.etcd.statefulSet.name}-<ordinal> on local volumes of StorageClass ${info.etcd.statefulSet.storageClassName})`,
        ]),
    ...(info.etcd.tls === undefined ? [] : [`  etcd TLS        CA ${info.etcd.tls.caFile}, client ${info.etcd.tls.certFile}, key ${info.etcd.tls.keyFile}`]),
    `  nodes           ${info.nodes.map((node) => `${node.name} ${node.address} ${node.rack}/${node.domain}`).join(', ')}`,
    `  logs            ${info.logsDir}`,
    '',
    `  export KUBECONFIG=${info.kubeconfig}`,
    ...(info.temporal === undefined ? [] : [`  export TEMPORAL_ADDRESS=${info.temporal.address}`]),
    `  export ETCDCTL_ENDPOINTS=${info.etcd.clientUrls.join(',')}`,
  );
  if (info.etcd.tls !== undefined) {
    const { caFile, certFile, keyFile } = info.etcd.tls;
    lines.push(`  export ETCDCTL_CACERT=${caFile} ETCDCTL_CERT=${certFile} ETCDCTL_KEY=${keyFile}`);
  }
  return lines.join('\n');
}

/** Nodes and members as two tables. */
export function renderStatus(status: SandboxStatus): string {
  const nodes = table(
    ['NODE', 'ADDRESS', 'RACK', 'DOMAIN', 'READY', 'PRESSURE', 'CPU', 'MEMORY', 'TAINTS', 'FAULTS'],
    status.nodes.map((node) => [
      node.name,
      node.address,
      node.rack,
      node.domain,
      node.conditions['Ready'] ?? '?',
      ['MemoryPressure', 'DiskPressure', 'PIDPressure'].filter((type) => node.conditions[type] === 'True').join(',') || '-',
      node.usage === undefined ? '-' : percent(node.usage.cpu),
      node.usage === undefined ? '-' : percent(node.usage.memory),
      node.taints.join(',') || '-',
      node.faults.join(',') || '-',
    ]),
  );
  const members = table(
    ['MEMBER', 'POD', 'NODE', 'RACK', 'DOMAIN', 'PHASE', 'READY', 'RESTARTS', 'HEALTHY', 'CLIENT URL', 'FAULTS'],
    status.members.map((member) => [
      member.name,
      member.terminating ? `${member.pod} (terminating)` : member.pod,
      member.node,
      member.rack,
      member.domain,
      member.phase,
      member.ready ? 'yes' : 'no',
      String(member.restartCount),
      member.healthy ? 'yes' : 'no',
      member.clientUrl,
      member.faults.join(',') || '-',
    ]),
  );
  const workload = status.etcdWorkload === 'statefulset' ? ', StatefulSet etcd' : status.etcdWorkload === 'pods' ? ', bare pods' : '';
  const version = status.etcdVersion === undefined ? [] : ['', `etcd ${status.etcdVersion}${workload}`];
  return [...nodes, '', ...members, ...version].join('\n');
}
