import type { EtcdPort } from '../../../src/etcd/port';
import type { KubePort } from '../../../src/kube/port';
import { VirtualClock } from './clock';
import { EtcdModel, type EtcdModelOptions, type ModelMember } from './etcd-model';
import { ModelEtcdPort } from './etcd-port';
import { describeEvent, type WorldEvent } from './events';
import { PortCalls, type FaultHook } from './faults';
import { KubeModel, type KubeModelOptions } from './kube-model';
import { ModelKubePort } from './kube-port';
import { Random } from './random';

/**
 * The simulated world: one etcd cluster, the Kubernetes nodes and pods under it, a virtual clock and a seeded
 * random source, with the two ports the activities use. Deterministic: the same seed and the same calls give the
 * same world, the same trace.
 */

/** How to build a world; everything but the seed has a default. */
export interface WorldOptions {
  seed: number;
  /** Virtual time at the start. */
  start?: Date;
  etcd?: Partial<EtcdModelOptions>;
  kube?: Partial<KubeModelOptions>;
  /** The gateway's per-call deadline (the cluster's endpointTimeout). */
  endpointTimeoutMs?: number;
  /** Endpoints the etcd port uses when a call names none. */
  seedEndpoints?: string[];
}

/** One world event, when it happened. */
export interface EventRecord {
  atMs: number;
  /** Port calls made before it, to place it in the schedule. */
  afterCalls: number;
  event: string;
}

/** The simulated world. */
export class World {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly etcdModel: EtcdModel;
  readonly kubeModel: KubeModel;
  /** Every port call, the fault hook and the trace. */
  readonly calls: PortCalls;
  /** The etcd port the activities get. */
  readonly etcd: EtcdPort;
  /** The Kubernetes port the activities get. */
  readonly kube: KubePort;
  /** World events in order, for a failing seed's schedule. */
  readonly events: EventRecord[] = [];
  readonly timeoutMs: number;
  private readonly startMs: number;

  constructor(options: WorldOptions) {
    const start = options.start ?? new Date('2026-01-01T00:00:00Z');
    this.startMs = start.getTime();
    this.clock = new VirtualClock(start);
    this.random = new Random(options.seed);
    this.timeoutMs = options.endpointTimeoutMs ?? 2_000;
    this.etcdModel = new EtcdModel(this.clock, this.random, options.etcd);
    const etcd = this.etcdModel;
    this.kubeModel = new KubeModel(
      this.clock,
      {
        start: (flags, nodeIP, memberId) => etcd.startProcess(flags, nodeIP, memberId),
        stop: (memberId, reason) => etcd.stopProcess(memberId, reason),
        state: (memberId) => etcd.find(memberId)?.process,
        healthy: (memberId) => {
          const member = etcd.find(memberId);
          return member !== undefined && !member.removed && etcd.hasLeader(member);
        },
        peers: () => {
          const members = etcd.list();
          // etcdctl member list through the Service: answered by any member that reaches a leader.
          if (!members.some((m) => !m.isLearner && etcd.hasLeader(m))) return undefined;
          return members.map((m) => ({ name: m.name || (m.pending?.name ?? ''), peerURL: m.peerURL }));
        },
      },
      options.kube,
    );
    this.etcdModel.onExit((memberId, reason) => this.kubeModel.processExited(memberId, reason));
    this.calls = new PortCalls({
      elapsedMs: () => this.elapsedMs(),
      advance: (ms) => this.advance(ms),
      apply: (event) => this.apply(event),
      timeoutMs: this.timeoutMs,
    });
    this.etcd = new ModelEtcdPort(this.etcdModel, this.calls, { endpoints: options.seedEndpoints ?? [], timeoutMs: this.timeoutMs, advance: (ms) => this.advance(ms) });
    this.kube = new ModelKubePort(this.kubeModel, this.calls);
  }

  /** The fault hook consulted on every port call. */
  set faults(hook: FaultHook | undefined) {
    this.calls.hook = hook;
  }

  /** The current virtual time. */
  now(): Date {
    return this.clock.now();
  }

  /** Virtual milliseconds since the world started. */
  elapsedMs(): number {
    return this.clock.nowMs() - this.startMs;
  }

  /** Let virtual time pass: elections, catch-ups, pod starts and terminations happen on the way. */
  advance(ms: number): void {
    this.clock.advance(ms, () => this.etcdModel.sync());
  }

  /** A client write; acknowledged only with a quorum. */
  put(key: string, value: string): { ok: true; revision: number } | { ok: false; reason: string } {
    return this.etcdModel.put(key, value);
  }

  /** A member by name, id or peer URL; throws naming the members when there is none. */
  member(ref: string): ModelMember {
    const member = this.etcdModel.find(ref);
    if (!member) throw new Error(`no member "${ref}" in the model; members: ${this.etcdModel.list().map((m) => m.name || m.id).join(', ')}`);
    return member;
  }

  /** The InternalIP of a node. */
  nodeIP(node: string): string {
    const found = this.kubeModel.nodeList().find((n) => n.name === node);
    if (!found) throw new Error(`no node "${node}" in the model`);
    return found.ip;
  }

  /** A member's client endpoint (its advertised one, or the one its peer host will serve). */
  endpointOf(ref: string): string {
    const member = this.member(ref);
    return member.clientURL || member.peerURL.replace(/:2380$/, ':2379');
  }

  /** Make something happen in the world now. */
  apply(event: WorldEvent): void {
    this.events.push({ atMs: this.elapsedMs(), afterCalls: this.calls.count, event: describeEvent(event) });
    switch (event.kind) {
      case 'kill': {
        const member = this.member(event.member);
        if (event.restart === false) this.kubeModel.holdRestarts(member.id, true);
        this.etcdModel.stopProcess(member.id, 'killed');
        return;
      }
      case 'freeze':
        return this.etcdModel.freeze(this.member(event.member).id);
      case 'thaw':
        return this.etcdModel.thaw(this.member(event.member).id);
      case 'partition':
        return this.etcdModel.setPartitioned(this.member(event.member).id, true);
      case 'heal':
        for (const m of event.member === undefined ? this.etcdModel.list() : [this.member(event.member)]) this.etcdModel.setPartitioned(m.id, false);
        return;
      case 'node-down':
        this.kubeModel.nodeDown(event.node);
        return this.etcdModel.setHostDown(this.nodeIP(event.node), true);
      case 'node-up':
        this.etcdModel.setHostDown(this.nodeIP(event.node), false);
        return this.kubeModel.nodeUp(event.node);
      case 'advance':
        return this.advance(event.ms);
      case 'put':
        this.put(event.key, event.value);
        return;
    }
  }

  /** World events and port calls, merged in time order: what a failing seed prints. */
  schedule(): string {
    const lines = [
      ...this.events.map((e) => ({ at: e.atMs, order: e.afterCalls - 0.5, text: `+${e.atMs}ms event: ${e.event}` })),
      ...this.calls.trace.map((t) => ({ at: t.atMs, order: t.index, text: `+${t.atMs}ms #${t.index} ${t.port}.${t.method}(${t.args})${t.fault ? ` [${t.fault}]` : ''} -> ${t.outcome}` })),
    ];
    return lines
      .sort((a, b) => a.at - b.at || a.order - b.order)
      .map((l) => l.text)
      .join('\n');
  }
}
