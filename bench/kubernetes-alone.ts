import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { FaultKind, MemberStatusReport, PressureLevels } from '../src/sandbox';
import type { GuardianHarness } from '../test/integration/harness/guardian';
import { memberList } from '../test/integration/harness/gameday';
import { observe, probeText, startTimeline, stopReason, tolerationText, type Sample, type StopRule, type Timeline } from './baseline';

/**
 * The Kubernetes-alone half of the scenario benchmark: with the guardian absent, fault a member, then sample the
 * node, the member pods and etcd's member list about once a second until the stop rule says nothing more will
 * happen. The folding and the stop rule are pure (bench/baseline.ts); this file only reads the real APIs.
 */

/** What the member pod carried at the fault: what decides when Kubernetes acts on it. */
export interface PodContext {
  /** Tolerations of the node lifecycle's taints (the apiserver's DefaultTolerationSeconds adds the not-ready and unreachable ones). */
  tolerations: string[];
  liveness?: string;
  startup?: string;
  readiness?: string;
  terminationGracePeriodSeconds?: number;
  /** The controller that owns the pod, or "none" for a bare pod. */
  owner: string;
}

/** One Kubernetes-alone observation: the timeline, why it ended, and what the pod carried. */
export interface KubernetesAloneRun {
  timeline: Timeline;
  stoppedBecause: string;
  pod: PodContext;
}

function podContext(pod: V1Pod | undefined): PodContext {
  const container = pod?.spec?.containers[0];
  const owner = pod?.metadata?.ownerReferences?.find((o) => o.controller === true);
  const probes = {
    liveness: probeText(container?.livenessProbe),
    startup: probeText(container?.startupProbe),
    readiness: probeText(container?.readinessProbe),
  };
  return {
    tolerations: (pod?.spec?.tolerations ?? []).filter((t) => t.key?.startsWith('node.kubernetes.io/') === true).map(tolerationText),
    ...Object.fromEntries(Object.entries(probes).filter(([, text]) => text !== undefined)),
    ...(pod?.spec?.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds }),
    owner: owner === undefined ? 'none' : `${owner.kind}/${owner.name}`,
  };
}

/** Reads the world once: the node `nodeName`, the member pods (with their uids) and etcd's member list. */
class Sampler {
  private readonly core: CoreV1Api;

  constructor(
    private readonly h: GuardianHarness,
    private readonly nodeName: string,
  ) {
    const config = new KubeConfig();
    config.loadFromFile(h.sandbox.info.kubeconfig);
    this.core = config.makeApiClient(CoreV1Api);
  }

  async pods(): Promise<V1Pod[]> {
    const { namespace, selector } = this.h.sandbox.info.etcd;
    return (await this.core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  }

  async sample(): Promise<Sample> {
    const [status, pods] = await Promise.all([this.h.sandbox.status(), this.pods()]);
    const at = Date.now();
    const uidOf = new Map(pods.map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? '']));
    const node = status.nodes.find((n) => n.name === this.nodeName);
    // Healthy members first: a member list through a frozen member waits for its deadline.
    const endpoints = [...status.members].sort((a, b) => Number(b.healthy) - Number(a.healthy)).map((m) => m.clientUrl).filter((u) => u !== '');
    const members = await memberList(endpoints, true).catch(() => undefined);
    return {
      at,
      node: node === undefined ? undefined : { conditions: node.conditions, taints: node.taints },
      pods: status.members
        .filter((m) => uidOf.has(m.pod))
        .map((m) => ({ uid: uidOf.get(m.pod) ?? '', pod: m.pod, member: m.name, node: m.node, terminating: m.terminating, restartCount: m.restartCount, healthy: m.healthy })),
      members: members?.map((m) => ({ id: m.id, name: m.name })),
    };
  }
}

/**
 * Faults `victim` (its node for a node fault, its pod otherwise) with the guardian absent and watches what
 * Kubernetes does, sampling about every `everyMs`, until `rule` says to stop. The fault is left in place: the caller heals.
 */
export async function watchKubernetesAlone(
  h: GuardianHarness,
  fault: { name: string; kind: FaultKind; levels?: PressureLevels },
  victim: MemberStatusReport,
  rule: StopRule,
  everyMs = 1000,
): Promise<KubernetesAloneRun & { faultAt: number }> {
  const sampler = new Sampler(h, victim.node);
  const pod = podContext((await sampler.pods()).find((p) => p.metadata?.name === victim.pod));
  const before = await sampler.sample();
  const nodeFault = fault.kind === 'node-down' || fault.kind === 'node-pressure';
  const faultAt = Date.now();
  await h.sandbox.fault(fault.kind, nodeFault ? victim.node : victim.pod, fault.levels);
  let timeline = startTimeline(fault.name, { member: victim.name, pod: victim.pod, node: victim.node }, faultAt, before);
  for (;;) {
    const started = Date.now();
    timeline = observe(timeline, await sampler.sample());
    const reason = stopReason(timeline, rule);
    if (reason !== undefined) return { timeline, stoppedBecause: reason, pod, faultAt };
    await sleep(Math.max(0, everyMs - (Date.now() - started)));
  }
}
