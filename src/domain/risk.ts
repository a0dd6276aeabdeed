import { hostPortOf, plainCause } from './messages';
import { activePressures, isNodeReady, percent, readyCondition, utilization } from './nodes';
import type { ClusterObservation, MemberObservation, NodeObservation, PodObservation } from './observation';
import { DEFAULT_STARTUP_GRACE_MS, type Policy } from './policy';
import { DEFAULT_SPACE_POLICY, formatBytes, formatDurationMs, fragmentation, growthRate, memberSpaces, nospaceMembers, type SpacePolicy } from './space';
import { isMemberHealthy, knownLeader, quorumSize, quorumState, toVoterViews, type QuorumState } from './quorum';
import { WindowBuilder, type SampleWindow } from './window';

/** Every kind of finding the assessment can report. */
export const FINDING_KINDS = [
  'quorum-lost',
  'quorum-at-risk',
  'no-leader',
  'membership-short',
  'membership-long',
  'member-unreachable',
  'member-lagging',
  'leader-churn',
  'proposals-failed',
  'slow-fsync',
  'slow-peer-network',
  'db-alarm',
  'nospace-alarm',
  'db-near-quota',
  'db-growth',
  'db-fragmented',
  'node-not-ready',
  'node-cpu-high',
  'node-memory-high',
  'node-pressure',
  'pod-not-ready',
  'pod-restarting',
  'rack-shared',
  'domain-shared',
  'backup-stale',
] as const;

/**
 * The assessment with a stale-backup finding added (the monitor's activity knows the store, the assessment does not):
 * a warning, confirmed at once (the store's listing is not a flapping signal), which makes the cluster unhealthy.
 */
export function withBackupFinding(assessment: Assessment, stale: { message: string; evidence: Evidence } | undefined): Assessment {
  if (stale === undefined) return assessment;
  const finding: Finding = { kind: 'backup-stale', severity: 'warning', message: stale.message, evidence: stale.evidence, samples: 1, confirmed: true };
  return { ...assessment, findings: [...assessment.findings, finding].sort(compareFindings), healthy: false };
}

/** The kind of a finding. */
export type FindingKind = (typeof FINDING_KINDS)[number];

/** How loud a finding is. `info` never triggers anything. */
export type Severity = 'info' | 'warning' | 'critical';

/** Figures behind a finding: the measured values and the thresholds they crossed. */
export type Evidence = Record<string, string | number | boolean>;

/** One thing wrong with the cluster, with the evidence that fired it. */
export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** The member concerned, by name; absent for cluster-wide findings. */
  member?: string;
  memberId?: string;
  node?: string;
  pod?: string;
  message: string;
  evidence: Evidence;
  /** Consecutive samples the signal has held. */
  samples: number;
  /**
   * Held for the configured number of consecutive samples. Quorum findings too: a leader election leaves every
   * member without a leader for a moment, and that is no reason to page anyone.
   */
  confirmed: boolean;
}

/** The outcome of assessing one observation. */
export interface Assessment {
  cluster: string;
  observedAt: string;
  quorum: QuorumState;
  leader?: { id: string; name: string };
  /** Confirmed findings first, then pending ones; both sorted by severity, kind and subject. */
  findings: Finding[];
  missingSignals: string[];
  /** No confirmed warning or critical finding. */
  healthy: boolean;
  summary: string;
}

type Signal = Omit<Finding, 'samples' | 'confirmed'>;

/**
 * Findings about the cluster as a whole, which keep counting while quorum is lost. The membership count is one:
 * it does not depend on any member's health, and a cluster both short and without quorum should say both.
 */
const CLUSTER_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'quorum-lost',
  'quorum-at-risk',
  'no-leader',
  'membership-short',
  'membership-long',
  'leader-churn',
  'proposals-failed',
]);

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

function subjectOf(signal: Signal): string {
  return signal.member ?? signal.node ?? signal.pod ?? 'cluster';
}

/** Compare findings: confirmed first, then by severity, kind and subject, so output order never depends on input. */
export function compareFindings(a: Finding, b: Finding): number {
  if (a.confirmed !== b.confirmed) return a.confirmed ? -1 : 1;
  const severity = SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
  if (severity !== 0) return severity;
  const kind = FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind);
  if (kind !== 0) return kind;
  const sa = subjectOf(a);
  const sb = subjectOf(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A member's name, or its id before it has one (a member added but not started). */
export function memberLabel(member: MemberObservation): string {
  return member.name || member.id;
}

function memberSubject(member: MemberObservation): Pick<Signal, 'member' | 'memberId'> {
  return { member: memberLabel(member), memberId: member.id };
}

function clusterSignals(obs: ClusterObservation, quorum: QuorumState, leader: MemberObservation | undefined): Signal[] {
  const signals: Signal[] = [];
  const figures = { healthyVoters: quorum.healthyVoters, voters: quorum.voters, quorum: quorum.quorum };
  if (!quorum.hasQuorum) {
    signals.push({
      kind: 'quorum-lost',
      severity: 'critical',
      message: `quorum lost: ${quorum.healthyVoters} of ${quorum.voters} voters healthy, ${quorum.quorum} needed; writes are refused and the guardian will take no destructive step`,
      evidence: figures,
    });
  } else if (quorum.faultTolerance === 0 && quorum.voters > 1) {
    // A single member has no redundancy to lose: saying so every cycle would be noise, not a warning.
    signals.push({
      kind: 'quorum-at-risk',
      severity: 'warning',
      message: `no fault tolerance: ${quorum.healthyVoters} of ${quorum.voters} voters healthy, quorum ${quorum.quorum}; one more failure stops writes`,
      evidence: figures,
    });
  }
  if (!leader) {
    const reachable = obs.members.filter((m) => m.status.reachable).length;
    signals.push({
      kind: 'no-leader',
      severity: 'critical',
      message: `no leader: none of the ${reachable} reachable members knows a leader`,
      evidence: { reachableMembers: reachable, members: obs.members.length },
    });
  }
  return signals;
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Failures a cluster of `voters` healthy voters survives. */
function toleratedFailures(voters: number): number {
  return Math.max(0, voters - quorumSize(voters));
}

/**
 * Fewer or more voters than the policy wants. Counted from the member list, so nothing is said when that list
 * could not be read: the members of the observation are then stand-ins, and unknown is not absent.
 */
function membershipSignals(obs: ClusterObservation, quorum: QuorumState, policy: Policy): Signal[] {
  if (obs.missingSignals.includes('member-list')) return [];
  const { voters, learners } = quorum;
  const desired = policy.desiredVoters;
  const evidence = { voters, desired, learners };
  if (voters < desired) {
    const learnerNames = obs.members.filter((m) => m.isLearner).map(memberLabel);
    // A learner on its way in is the usual reason for a short count (a replace in progress): say so, but it does
    // not vote, so it does not make up the shortfall.
    const learnerNote =
      learnerNames.length === 0
        ? ''
        : learnerNames.length === 1
          ? `; learner ${learnerNames[0] ?? ''} does not vote until it is promoted`
          : `; learners ${learnerNames.join(', ')} do not vote until they are promoted`;
    return [
      {
        kind: 'membership-short',
        severity: 'critical',
        message: `membership short: ${voters} of ${desired} desired voters, ${desired - voters} missing; the cluster tolerates ${plural(toleratedFailures(voters), 'failure', 'failures')} instead of ${toleratedFailures(desired)}${learnerNote}`,
        evidence,
      },
    ];
  }
  if (voters > desired) {
    const surplus = voters - desired;
    // Which voter is surplus is the planner's choice; a voter that does not answer is the obvious candidate.
    const down = obs.members.filter((m) => !m.isLearner && !isMemberHealthy(m)).map(memberLabel);
    const downNote = down.length === 0 ? '' : `; not healthy: ${down.join(', ')}`;
    return [
      {
        kind: 'membership-long',
        severity: 'warning',
        message: `membership long: ${voters} voters where ${desired} are desired, ${surplus} surplus; every write waits for ${quorumSize(voters)} of them instead of ${quorumSize(desired)}${downNote}`,
        evidence: { ...evidence, surplus },
      },
    ];
  }
  return [];
}

function memberSignals(obs: ClusterObservation, policy: Policy, window: WindowBuilder): Signal[] {
  const { thresholds } = policy;
  const signals: Signal[] = [];
  const reachable = obs.members.filter((m) => m.status.reachable);
  const maxIndex = Math.max(0, ...reachable.map((m) => m.status.raftIndex ?? 0));
  let leaderChanges: number | undefined;
  let failedProposals: number | undefined;

  for (const member of obs.members) {
    const s = member.status;
    const who = memberSubject(member);
    if (!s.reachable) {
      const at = hostPortOf(member.clientURLs[0]);
      const dataFault = obs.pods.find((p) => p.name === member.podName)?.dataFault;
      signals.push({
        kind: 'member-unreachable',
        severity: 'critical',
        ...who,
        ...(member.nodeName ? { node: member.nodeName } : {}),
        message: `member ${who.member} does not answer${at ? ` at ${at}` : ''}: ${plainCause(s.error)}${dataFault ? `; its last exit says ${dataFault}` : ''}`,
        evidence: { error: s.error ?? 'no response', clientURL: member.clientURLs[0] ?? '', ...(dataFault ? { dataFault } : {}) },
      });
      continue;
    }
    const gap = maxIndex - (s.raftIndex ?? maxIndex);
    if (gap > thresholds.raftIndexLag) {
      signals.push({
        kind: 'member-lagging',
        severity: 'warning',
        ...who,
        message: `member ${who.member} trails by ${gap} raft entries (threshold ${thresholds.raftIndexLag})`,
        evidence: { raftIndex: s.raftIndex ?? 0, maxRaftIndex: maxIndex, gap, threshold: thresholds.raftIndexLag },
      });
    }
    if (s.walFsyncP99Seconds !== undefined && s.walFsyncP99Seconds > thresholds.walFsyncP99Seconds) {
      signals.push({
        kind: 'slow-fsync',
        severity: 'warning',
        ...who,
        message: `member ${who.member} WAL fsync p99 ${s.walFsyncP99Seconds}s exceeds ${thresholds.walFsyncP99Seconds}s`,
        evidence: { walFsyncP99Seconds: s.walFsyncP99Seconds, threshold: thresholds.walFsyncP99Seconds },
      });
    }
    if (s.peerRoundTripP99Seconds !== undefined && s.peerRoundTripP99Seconds > thresholds.peerRoundTripP99Seconds) {
      signals.push({
        kind: 'slow-peer-network',
        severity: 'warning',
        ...who,
        message: `member ${who.member} peer round-trip p99 ${s.peerRoundTripP99Seconds}s exceeds ${thresholds.peerRoundTripP99Seconds}s`,
        evidence: { peerRoundTripP99Seconds: s.peerRoundTripP99Seconds, threshold: thresholds.peerRoundTripP99Seconds },
      });
    }
    // NOSPACE is the cluster's own finding (nospace-alarm), with its recovery; any other alarm needs a person.
    const otherAlarms = s.alarms.filter((a) => a !== 'NOSPACE');
    if (otherAlarms.length > 0) {
      signals.push({
        kind: 'db-alarm',
        severity: 'critical',
        ...who,
        message: `member ${who.member} raised ${otherAlarms.join(', ')}`,
        evidence: { alarms: otherAlarms.join(','), dbSizeBytes: s.dbSizeBytes ?? 0 },
      });
    }
    // Every member counts each leader change it sees, so the cluster's churn is the largest count, not the sum.
    const changes = window.counter(`leader-changes/${member.id}`, s.leaderChangesSeen);
    if (changes !== undefined) leaderChanges = Math.max(leaderChanges ?? 0, changes);
    // A proposal fails on the member that proposed it, so the cluster's failures are the sum.
    const failed = window.counter(`proposals-failed/${member.id}`, s.proposalsFailed);
    if (failed !== undefined) failedProposals = (failedProposals ?? 0) + failed;
  }

  if (leaderChanges !== undefined && leaderChanges >= thresholds.leaderChanges) {
    signals.push({
      kind: 'leader-churn',
      severity: 'warning',
      message: `${leaderChanges} leader changes in the last ${policy.windowSamples} samples (threshold ${thresholds.leaderChanges})`,
      evidence: { leaderChanges, windowSamples: policy.windowSamples, threshold: thresholds.leaderChanges },
    });
  }
  if (failedProposals !== undefined && failedProposals >= thresholds.failedProposals) {
    signals.push({
      kind: 'proposals-failed',
      severity: 'warning',
      message: `${failedProposals} failed proposals in the last ${policy.windowSamples} samples (threshold ${thresholds.failedProposals})`,
      evidence: { failedProposals, windowSamples: policy.windowSamples, threshold: thresholds.failedProposals },
    });
  }
  return signals;
}

/** Samples of the leader's database a growth rate needs: two could be one burst. */
const MIN_GROWTH_POINTS = 3;

/**
 * Space: a NOSPACE alarm (the cluster refuses writes), a database near its quota, growing towards it, or mostly free
 * pages. Each names its figures and the thresholds they crossed.
 */
function spaceSignals(obs: ClusterObservation, space: SpacePolicy, window: WindowBuilder, leaderId: string | undefined): Signal[] {
  const signals: Signal[] = [];
  const spaces = memberSpaces(obs, space);
  const raised = nospaceMembers(obs);
  if (raised.length > 0) {
    const names = raised.map(memberLabel);
    const largest = Math.max(0, ...obs.members.map((m) => m.status.dbSizeBytes ?? 0));
    const quotas = spaces.map((m) => m.quotaBytes);
    const quota = quotas.length > 0 ? Math.min(...quotas) : (space.quotaBytes ?? 0);
    signals.push({
      kind: 'nospace-alarm',
      severity: 'critical',
      message: `NOSPACE alarm raised by ${names.join(', ')}: etcd refuses every write until the database is below its quota and the alarm is disarmed (largest database ${formatBytes(largest)}${quota > 0 ? `, quota ${formatBytes(quota)}` : ''})`,
      evidence: { members: names.join(','), dbSizeBytes: largest, quotaBytes: quota },
    });
  }
  const at = Date.parse(obs.observedAt);
  for (const { member, quotaBytes, quotaRatio } of spaces) {
    const who = memberSubject(member);
    const total = member.status.dbSizeBytes ?? 0;
    const ratio = quotaRatio ?? 0;
    if (ratio >= space.quotaWarning) {
      const critical = ratio >= space.quotaCritical;
      signals.push({
        kind: 'db-near-quota',
        severity: critical ? 'critical' : 'warning',
        ...who,
        message: `member ${who.member} database ${formatBytes(total)} is ${(ratio * 100).toFixed(1)}% of its ${formatBytes(quotaBytes)} quota (${critical ? 'critical' : 'warning'} at ${Math.round((critical ? space.quotaCritical : space.quotaWarning) * 100)}%)`,
        evidence: { dbSizeBytes: total, quotaBytes, quotaRatio: Number(ratio.toFixed(4)), warning: space.quotaWarning, critical: space.quotaCritical },
      });
    }
    const f = fragmentation(member);
    if (f && f.total >= space.fragmentedMinBytes && f.inUseRatio < space.fragmentedRatio) {
      signals.push({
        kind: 'db-fragmented',
        severity: 'warning',
        ...who,
        message: `member ${who.member} database is ${formatBytes(f.total)} with ${formatBytes(f.inUse)} in use (${(f.inUseRatio * 100).toFixed(1)}%, below ${Math.round(space.fragmentedRatio * 100)}%): defragmenting would return ${formatBytes(f.total - f.inUse)}`,
        evidence: { dbSizeBytes: f.total, dbSizeInUseBytes: f.inUse, inUseRatio: Number(f.inUseRatio.toFixed(4)), threshold: space.fragmentedRatio, minBytes: space.fragmentedMinBytes },
      });
    }
    // In use grows with the data; the file follows only once its free pages run out, so in use is what to project.
    // The leader's alone: every member holds the same data, and a member that just joined fills up from the leader's
    // snapshot in seconds, which is no growth of the cluster's data.
    if (member.id !== leaderId) continue;
    const used = member.status.dbSizeInUseBytes ?? total;
    const points = Number.isFinite(at) ? window.gauge(`db-in-use/${member.id}`, at, used) : [];
    const rate = points.length >= MIN_GROWTH_POINTS ? growthRate(points) : undefined;
    if (rate !== undefined && rate > 0) {
      const etaMs = Math.max(0, quotaBytes - used) / rate;
      if (etaMs <= space.growthHorizonMs) {
        const perHour = rate * 3_600_000;
        signals.push({
          kind: 'db-growth',
          severity: 'warning',
          ...who,
          message: `member ${who.member} database grows ${formatBytes(perHour)}/h (${formatBytes(used)} in use): at that rate it reaches its ${formatBytes(quotaBytes)} quota in ${formatDurationMs(etaMs)} (horizon ${formatDurationMs(space.growthHorizonMs)})`,
          evidence: { bytesPerHour: Math.round(perHour), dbSizeInUseBytes: used, quotaBytes, etaSeconds: Math.round(etaMs / 1000), horizonSeconds: Math.round(space.growthHorizonMs / 1000) },
        });
      }
    }
  }
  return signals;
}

function nodeSignals(member: MemberObservation, node: NodeObservation | undefined, policy: Policy): Signal[] {
  const { thresholds } = policy;
  const who = memberSubject(member);
  const nodeName = member.nodeName ?? '';
  if (!node) {
    return [
      {
        kind: 'node-not-ready',
        severity: 'critical',
        ...who,
        node: nodeName,
        message: `node ${nodeName} of member ${who.member} is not in the cluster`,
        evidence: { ready: 'absent' },
      },
    ];
  }
  const signals: Signal[] = [];
  if (!isNodeReady(node)) {
    const ready = readyCondition(node);
    signals.push({
      kind: 'node-not-ready',
      severity: 'critical',
      ...who,
      node: node.name,
      message: `node ${node.name} of member ${who.member} is not ready (Ready=${ready.status}${ready.reason ? `, ${ready.reason}` : ''})`,
      evidence: { ready: ready.status, reason: ready.reason },
    });
  }
  const usage = utilization(node);
  if (usage && usage.cpu >= thresholds.nodeCpu) {
    signals.push({
      kind: 'node-cpu-high',
      severity: 'warning',
      ...who,
      node: node.name,
      message: `node ${node.name} of member ${who.member} CPU at ${percent(usage.cpu)} of allocatable (threshold ${percent(thresholds.nodeCpu)})`,
      evidence: {
        cpuUsage: Number(usage.cpu.toFixed(4)),
        threshold: thresholds.nodeCpu,
        usedMillis: node.usage?.cpuMillis ?? 0,
        allocatableMillis: node.allocatable.cpuMillis,
      },
    });
  }
  if (usage && usage.memory >= thresholds.nodeMemory) {
    signals.push({
      kind: 'node-memory-high',
      severity: 'warning',
      ...who,
      node: node.name,
      message: `node ${node.name} of member ${who.member} memory at ${percent(usage.memory)} of allocatable (threshold ${percent(thresholds.nodeMemory)})`,
      evidence: {
        memoryUsage: Number(usage.memory.toFixed(4)),
        threshold: thresholds.nodeMemory,
        usedBytes: node.usage?.memoryBytes ?? 0,
        allocatableBytes: node.allocatable.memoryBytes,
      },
    });
  }
  const pressures = activePressures(node);
  if (pressures.length > 0) {
    signals.push({
      kind: 'node-pressure',
      severity: 'warning',
      ...who,
      node: node.name,
      message: `node ${node.name} of member ${who.member} reports ${pressures.join(', ')}`,
      evidence: { conditions: pressures.join(',') },
    });
  }
  return signals;
}

function podSignals(obs: ClusterObservation, member: MemberObservation, policy: Policy, window: WindowBuilder): Signal[] {
  const who = memberSubject(member);
  const pod = obs.pods.find((p) => p.name === member.podName);
  if (!pod) {
    if (!member.podName) return [];
    return [
      {
        kind: 'pod-not-ready',
        severity: 'warning',
        ...who,
        pod: member.podName,
        message: `pod ${member.podName} of member ${who.member} does not exist`,
        evidence: { phase: 'absent' },
      },
    ];
  }
  const signals: Signal[] = [];
  if (!pod.ready || pod.phase !== 'Running') {
    signals.push({
      kind: 'pod-not-ready',
      severity: 'warning',
      ...who,
      pod: pod.name,
      ...(pod.nodeName ? { node: pod.nodeName } : {}),
      message: `pod ${pod.name} of member ${who.member} is not ready (phase ${pod.phase})`,
      evidence: { phase: pod.phase, ready: pod.ready, terminating: pod.terminating },
    });
  }
  // Keyed by the pod's uid: its restart count never goes down, and a pod recreated under the same name starts afresh.
  const restarts = pod.uid !== undefined ? window.monotonicCounter(`restarts/${pod.uid}`, pod.restartCount) : (window.counter(`restarts/${pod.name}`, pod.restartCount) ?? 0);
  if (restarts >= policy.thresholds.podRestarts) {
    signals.push({
      kind: 'pod-restarting',
      severity: 'warning',
      ...who,
      pod: pod.name,
      message: `pod ${pod.name} of member ${who.member} restarted ${restarts} times in the last ${policy.windowSamples} samples (threshold ${policy.thresholds.podRestarts})${pod.dataFault ? `: ${pod.dataFault}` : lastExitClause(pod.lastExit)}`,
      evidence: {
        restarts,
        restartCount: pod.restartCount,
        threshold: policy.thresholds.podRestarts,
        ...(pod.dataFault ? { dataFault: pod.dataFault } : {}),
        ...(pod.lastExit ? { lastExitCode: pod.lastExit.exitCode, ...(pod.lastExit.reason ? { lastExitReason: pod.lastExit.reason } : {}) } : {}),
      },
    });
  }
  return signals;
}

/** How a pod's container last ended, for a restart finding that names no data fault: "; its last exit: code 137 (SIGKILL)". */
function lastExitClause(exit: PodObservation['lastExit']): string {
  if (exit === undefined) return '';
  const signal = exit.exitCode > 128 && exit.exitCode < 160 ? SIGNALS[exit.exitCode - 128] : undefined;
  const said = [exit.reason && exit.reason !== 'Error' ? exit.reason : undefined, signal].filter((s) => s !== undefined);
  return `; its last exit: code ${exit.exitCode}${said.length > 0 ? ` (${said.join(', ')})` : ''}`;
}

/** The signals a container's exit code above 128 names, by number. */
const SIGNALS: Readonly<Record<number, string>> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/**
 * Members sharing a rack (or domain) count only when the nodes offer enough racks (domains) to avoid it: with
 * three members and two zones, two members must share a zone, and saying so every cycle would be noise.
 */
function spreadSignals(obs: ClusterObservation, nodes: ReadonlyMap<string, NodeObservation>): Signal[] {
  const voters = obs.members.filter((m) => !m.isLearner && m.nodeName);
  const signals: Signal[] = [];
  const check = (kind: 'rack-shared' | 'domain-shared', label: 'rack' | 'domain'): void => {
    const available = new Set(obs.nodes.filter(isNodeReady).map((n) => n[label]).filter((v) => v !== undefined));
    const groups = new Map<string, string[]>();
    for (const m of voters) {
      const value = nodes.get(m.nodeName ?? '')?.[label];
      if (value !== undefined) groups.set(value, [...(groups.get(value) ?? []), memberLabel(m)]);
    }
    const used = groups.size;
    if (used >= Math.min(voters.length, available.size)) return;
    for (const [value, names] of [...groups.entries()].sort()) {
      if (names.length < 2) continue;
      signals.push({
        kind,
        severity: 'info',
        message: `members ${names.join(', ')} share ${label} ${value} while ${available.size} ${label}s are available`,
        evidence: { [label]: value, members: names.join(','), available: available.size },
      });
    }
  };
  check('rack-shared', 'rack');
  check('domain-shared', 'domain');
  return signals;
}

/** The member signals a start-up explains: a member starting on a node that came back answers late, lags, restarts. */
const GRACED_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>(['member-unreachable', 'member-lagging', 'pod-not-ready', 'pod-restarting', 'slow-fsync', 'slow-peer-network']);

/**
 * Members in their start-up grace, by member id, with a sentence saying why: their node turned Ready again less than
 * `policy.startupGraceMs` ago (seen by this monitor: down in one sample, Ready in a later one).
 */
function startupGraces(obs: ClusterObservation, policy: Policy, window: WindowBuilder): Map<string, string> {
  const at = Date.parse(obs.observedAt);
  const graceMs = policy.startupGraceMs ?? DEFAULT_STARTUP_GRACE_MS;
  const graces = new Map<string, string>();
  const hosts = new Set(obs.members.map((m) => m.nodeName).filter((n) => n !== undefined));
  for (const node of obs.nodes) {
    if (!hosts.has(node.name)) continue;
    const back = window.returnedAt(`node/${node.name}`, isNodeReady(node), at, graceMs);
    if (back === undefined) continue;
    for (const member of obs.members.filter((m) => m.nodeName === node.name)) {
      graces.set(member.id, `starting up: node ${node.name} is Ready again since ${formatDurationMs(at - back)}; start-up grace for ${formatDurationMs(back + graceMs - at)} more`);
    }
  }
  return graces;
}

/**
 * Signals confirmed by their first sample: restarts counted over the window are events that happened (the kubelet's
 * restart count only grows), not a reading that may flap, so waiting more samples only lets the crash loop go on.
 */
const SELF_CONFIRMING: ReadonlySet<FindingKind> = new Set<FindingKind>(['pod-restarting']);

/**
 * Assess one observation against the policy, carrying the sample window: a signal becomes a confirmed finding
 * once it has held for `policy.hysteresisSamples` consecutive samples (or at once, for the self-confirming ones).
 */
export function assessRisk(
  obs: ClusterObservation,
  policy: Policy,
  previous: SampleWindow,
): { assessment: Assessment; window: SampleWindow } {
  const builder = new WindowBuilder(previous, policy.windowSamples);
  const quorum = quorumState(toVoterViews(obs.members));
  const leader = knownLeader(obs.members);
  const nodes = new Map(obs.nodes.map((n) => [n.name, n]));
  const signals: Signal[] = [
    ...clusterSignals(obs, quorum, leader),
    ...membershipSignals(obs, quorum, policy),
    ...memberSignals(obs, policy, builder),
  ];
  for (const member of obs.members) {
    if (member.nodeName) signals.push(...nodeSignals(member, nodes.get(member.nodeName), policy));
    signals.push(...podSignals(obs, member, policy, builder));
  }
  signals.push(...spreadSignals(obs, nodes));
  signals.push(...spaceSignals(obs, policy.space ?? DEFAULT_SPACE_POLICY, builder, leader?.id));

  const graces = startupGraces(obs, policy, builder);
  const findings = signals.map((signal): Finding => {
    // While quorum is lost no member's health means much: member signals are shown but their streaks start over
    // when quorum returns, so that members coming back after an outage get k samples before anything moves.
    if (!quorum.hasQuorum && !CLUSTER_KINDS.has(signal.kind)) return { ...signal, samples: 0, confirmed: false };
    // A member whose node just came back is starting up: its signals are shown, and count from the grace's end.
    const grace = GRACED_KINDS.has(signal.kind) && signal.memberId !== undefined ? graces.get(signal.memberId) : undefined;
    if (grace !== undefined) return { ...signal, message: `${signal.message} (${grace})`, samples: 0, confirmed: false };
    const samples = builder.hold(`${signal.kind}/${subjectOf(signal)}`);
    return { ...signal, samples, confirmed: samples >= policy.hysteresisSamples || SELF_CONFIRMING.has(signal.kind) };
  });
  findings.sort(compareFindings);

  const missingSignals = [...obs.missingSignals];
  for (const m of obs.members) {
    if (m.status.reachable && m.status.hasLeader === undefined) missingSignals.push(`raft-metrics/${memberLabel(m)}`);
  }
  const confirmed = findings.filter((f) => f.confirmed && f.severity !== 'info');
  const pending = findings.filter((f) => !f.confirmed).length;
  const healthy = confirmed.length === 0;
  const summary = healthy
    ? `healthy: ${quorum.healthyVoters}/${quorum.voters} voters, fault tolerance ${quorum.faultTolerance}${pending ? `, ${pending} signal(s) pending` : ''}`
    : `${confirmed.length} finding(s): ${confirmed.map((f) => `${f.kind}${f.member ? `(${f.member})` : ''}`).join(', ')}`;

  const assessment: Assessment = {
    cluster: obs.cluster,
    observedAt: obs.observedAt,
    quorum,
    findings,
    missingSignals: missingSignals.sort(),
    healthy,
    summary,
  };
  if (leader) assessment.leader = { id: leader.id, name: memberLabel(leader) };
  return { assessment, window: builder.build() };
}

