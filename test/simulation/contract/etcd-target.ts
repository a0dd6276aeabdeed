import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { urlHost } from '../../../src/domain/membership';
import { agreedLeader, EtcdGateway } from '../../../src/etcd/gateway';
import type { EtcdPort } from '../../../src/etcd/port';
import { parseEtcdVersion, peersMarkSilentPeerInactive } from '../../../src/domain/etcd-version';
import { findEtcdBinary } from '../../../src/sandbox/binaries';
import { resolveEtcdVersion } from '../../../src/sandbox/options';
import { etcdMemberHealthy } from '../../../src/sandbox/etcd-health';
import { httpCall } from '../../../src/sandbox/http';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, nodeAddress } from '../../../src/sandbox/ports';
import { ManagedProcess } from '../../../src/sandbox/processes';
import { waitFor } from '../../../src/sandbox/wait';
import { aWorld } from '../model/builders';
import type { WorldEvent } from '../model/events';
import type { ScenarioTarget } from './scenario';

/**
 * Real etcd as a scenario target: a fresh cluster of real etcd processes (the cached etcd binary, the one the
 * sandbox runs) on loopback, asked through the real EtcdGateway. The layout is the model's (aWorld): the same node
 * names, the same members on the same nodes; only the addresses differ, 127.(20+slot).0.(i+1) instead of the model's
 * 127.20.0.(i+1), so that the cluster never collides with a sandbox of another suite (the caller holds the slot).
 *
 * World events become signals to the processes, and each waits (polling, with a deadline) until its effect is what
 * the model makes it at once: a killed or frozen member is no longer an active peer of the others (etcd's
 * `etcd_network_active_peers`), a thawed one is again.
 */

/** Everything a failed wait here may need: the member's log. */
const LOG_TAIL_LINES = 15;

/** How long a process may take to start and report a leader, on a loaded 2-core machine. */
const START_DEADLINE_MS = 45_000;
/** etcd's HealthInterval: strict reconfiguration wants every voter connected for this long before an add. */
const ETCD_HEALTH_INTERVAL_MS = 5_000;
/** A little more than HealthInterval, so that "connected for 5 s" holds on every member, not just most. */
const HEALTH_INTERVAL_MARGIN_MS = 1_000;
/** How long the peers may take to notice a member stopped or back: etcd's peer read timeout is 5 s. */
const PEER_DEADLINE_MS = 20_000;

/** One etcd process of the cluster. */
interface RealMember {
  name: string;
  node: string;
  address: string;
  clientURL: string;
  peerURL: string;
  /** Known once the member list names it. */
  id?: string;
  proc?: ManagedProcess;
  logPath: string;
  frozen: boolean;
}

/** What the contract test gets: the target, and how to stop it. */
export interface EtcdTarget {
  target: ScenarioTarget;
  /** The members' log files, for a failure message. */
  logs(): string[];
  /** Stop every process (SIGTERM, SIGKILL after a deadline) and close the gateway. */
  stop(): Promise<void>;
}

/** What startEtcdTarget needs. */
export interface EtcdTargetOptions {
  members: number;
  /** The sandbox slot the caller holds (src/sandbox/slot-lock.ts): it owns 127.(20+slot).0.0/16. */
  slot: number;
  /** A fresh directory for data, logs and pid files. */
  dir: string;
  /** The gateway's per-call deadline (a cluster's endpointTimeout). */
  timeoutMs: number;
  /** A token that makes this cluster's ids its own. */
  token: string;
  /** etcd's --quota-backend-bytes, for a space scenario. */
  quotaBytes?: number;
}

/** The last lines of a log file, for an error that says why a process did not come up. */
function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `etcd_network_active_peers{Local="a",Remote="b"} 1` lines of a /metrics text: the remote ids that are active. */
export function activePeers(metrics: string): Set<string> {
  const active = new Set<string>();
  for (const line of metrics.split('\n')) {
    const match = /^etcd_network_active_peers\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match || Number(match[2]) < 1) continue;
    const remote = /Remote="([0-9a-f]+)"/.exec(match[1] ?? '')?.[1];
    if (remote !== undefined) active.add(BigInt(`0x${remote}`).toString(16));
  }
  return active;
}

/** Start a fresh real cluster shaped like aWorld({ members }) and return it as a scenario target. */
export async function startEtcdTarget(options: EtcdTargetOptions): Promise<EtcdTarget> {
  // The version of $ETCD_GUARDIAN_ETCD_VERSION (default 3.6), as the sandbox's members; fails with
  // "etcd 3.6 is missing from <dir>: run scripts/install-components.sh to install it".
  const etcdBinary = findEtcdBinary(resolveEtcdVersion(undefined), 'etcd');
  const layout = aWorld({ members: options.members });
  const nodes = layout.kubeModel.nodeList().map((n, index) => ({ name: n.name, modelIP: n.ip, address: nodeAddress(options.slot, index) }));
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const realIP = (node: string): string => {
    const found = nodeByName.get(node);
    if (!found) throw new Error(`no node "${node}" in the contract cluster; nodes: ${nodes.map((n) => n.name).join(', ')}`);
    return found.address;
  };
  const members: RealMember[] = layout.etcdModel.list().map((m) => {
    const node = nodes.find((n) => n.modelIP === urlHost(m.peerURL));
    if (!node) throw new Error(`member ${m.name} of the model is on no node`);
    return {
      name: m.name,
      node: node.name,
      address: node.address,
      clientURL: `http://${node.address}:${ETCD_CLIENT_PORT}`,
      peerURL: `http://${node.address}:${ETCD_PEER_PORT}`,
      logPath: join(options.dir, 'logs', `${m.name}.log`),
      frozen: false,
    };
  });
  mkdirSync(join(options.dir, 'logs'), { recursive: true });

  const gateway = new EtcdGateway({ endpoints: members.map((m) => m.clientURL), timeoutMs: options.timeoutMs });
  /** Learners added through the port, by id: their endpoint is their peer host's client port. */
  const learnerPeers = new Map<string, string>();

  const spawnMember = async (member: RealMember, initialCluster: string, state: 'new' | 'existing', extra: string[] = []): Promise<void> => {
    member.proc = await ManagedProcess.start({
      name: `contract ${member.name}`,
      command: etcdBinary,
      args: [
        `--name=${member.name}`,
        `--data-dir=${join(options.dir, 'data', member.name)}`,
        `--listen-client-urls=${member.clientURL}`,
        `--advertise-client-urls=${member.clientURL}`,
        `--listen-peer-urls=${member.peerURL}`,
        `--initial-advertise-peer-urls=${member.peerURL}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-state=${state}`,
        `--initial-cluster-token=${options.token}`,
        // --strict-reconfig-check is etcd's default (true); heartbeat and election timeouts stay at theirs too.
        '--logger=zap',
        '--log-outputs=stderr',
        ...(options.quotaBytes !== undefined ? [`--quota-backend-bytes=${options.quotaBytes}`] : []),
        ...extra,
      ],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/' },
      logPath: member.logPath,
      pidFile: { dir: join(options.dir, 'run'), file: member.name },
    });
  };
  const exitedWhy = (member: RealMember) => (): string | undefined =>
    member.proc?.running === false ? `etcd ${member.name} exited (${JSON.stringify(member.proc.exitInfo)}); its log ends:\n${tail(member.logPath)}` : undefined;

  const running = (): RealMember[] => members.filter((m) => m.proc?.running === true && !m.frozen && m.id !== undefined);
  const byRef = (ref: string): RealMember => {
    const found = members.find((m) => m.name === ref || m.id === ref || m.peerURL === ref);
    if (!found) throw new Error(`no member "${ref}" in the contract cluster; members: ${members.map((m) => m.name).join(', ')}`);
    return found;
  };
  const metricsOf = async (member: RealMember): Promise<string> => {
    const res = await httpCall({ url: `${member.clientURL}/metrics`, timeoutMs: 2_000 });
    if (res.status !== 200) throw new Error(`GET ${member.clientURL}/metrics answered ${res.status}`);
    return res.text;
  };
  /**
   * Poll until every running member sees `subject` as an active peer (or, with `active` false, as not). From etcd 3.5
   * a silent (frozen) peer stays active in the others' transport (domain/etcd-version peersMarkSilentPeerInactive):
   * there, "no longer active" is waited for as Raft sees it, every other member following a leader that is not it.
   */
  const peersSee = async (subject: RealMember, active: boolean, why: string): Promise<void> => {
    const subjectId = subject.id;
    if (subjectId === undefined) return;
    const observers = running().filter((m) => m !== subject);
    if (!active && subject.frozen && !(await silentPeersTurnInactive(observers))) {
      await waitFor(
        `${why}: the other members follow a leader other than ${subject.name}`,
        async () => {
          const statuses = await Promise.all(observers.map((o) => gateway.endpointStatus(o.clientURL)));
          return statuses.every((s) => s.reachable && s.leaderId !== undefined && s.leaderId !== '0' && s.leaderId !== subjectId) ? true : undefined;
        },
        { timeoutMs: PEER_DEADLINE_MS, intervalMs: 100 },
      );
      return;
    }
    await waitFor(
      `${why}: the other members see ${subject.name} as ${active ? 'an active' : 'no longer an active'} peer`,
      async () => {
        const views = await Promise.all(observers.map(async (o) => activePeers(await metricsOf(o)).has(subjectId)));
        return views.every((v) => v === active) ? true : undefined;
      },
      { timeoutMs: PEER_DEADLINE_MS, intervalMs: 100 },
    );
  };
  /** Whether the members' etcd version marks a silent peer inactive (3.4), read from the first one that answers. */
  const silentPeersTurnInactive = async (observers: readonly RealMember[]): Promise<boolean> => {
    for (const o of observers) {
      const version = parseEtcdVersion((await gateway.endpointStatus(o.clientURL)).version ?? '');
      if (version !== undefined) return peersMarkSilentPeerInactive(version);
    }
    return true;
  };
  /** Poll until every running member's peers are all active, then let etcd's HealthInterval pass. */
  const settle = async (): Promise<void> => {
    const live = running();
    await waitFor(
      'every member connected to every other',
      async () => {
        for (const m of live) {
          const active = activePeers(await metricsOf(m));
          if (live.some((o) => o !== m && o.id !== undefined && !active.has(o.id))) return undefined;
        }
        return true;
      },
      { timeoutMs: START_DEADLINE_MS, intervalMs: 100 },
    );
    // The model's cluster has been connected for longer than HealthInterval (aWorld): so must this one be.
    await sleep(ETCD_HEALTH_INTERVAL_MS + HEALTH_INTERVAL_MARGIN_MS);
  };

  const stop = async (): Promise<void> => {
    gateway.close();
    await Promise.all(members.flatMap((m) => (m.proc ? [m.proc.stop({ graceMs: 3_000, killWaitMs: 5_000 })] : [])));
  };

  try {
    const initialCluster = members.map((m) => `${m.name}=${m.peerURL}`).join(',');
    for (const m of members) await spawnMember(m, initialCluster, 'new');
    for (const m of members) {
      await waitFor(`etcd ${m.name} /health at ${m.clientURL}`, async () => ((await etcdMemberHealthy(m.clientURL)) ? true : undefined), {
        timeoutMs: START_DEADLINE_MS,
        intervalMs: 100,
        abortIf: exitedWhy(m),
      });
    }
    const list = await waitFor('the member list of the new cluster', () => gateway.memberList(), { timeoutMs: START_DEADLINE_MS, intervalMs: 200 });
    for (const info of list.members) {
      const member = members.find((m) => m.name === info.name);
      if (!member) throw new Error(`the new cluster lists an unexpected member ${info.name} (${info.id})`);
      member.id = info.id;
    }
    await settle();
  } catch (error) {
    await stop();
    throw error;
  }

  /** The gateway, recording each learner it adds so that its endpoint is known. */
  const etcd: EtcdPort = {
    memberList: (endpoints) => gateway.memberList(endpoints),
    endpointStatus: (endpoint) => gateway.endpointStatus(endpoint),
    alarms: (endpoints) => gateway.alarms(endpoints),
    metricsText: (endpoint) => gateway.metricsText(endpoint),
    addLearner: async (peerURL, endpoints) => {
      const added = await gateway.addLearner(peerURL, endpoints);
      learnerPeers.set(added.id, peerURL);
      return added;
    },
    removeMember: (id, endpoints) => gateway.removeMember(id, endpoints),
    promoteMember: (id, endpoints) => gateway.promoteMember(id, endpoints),
    moveLeader: (leaderEndpoint, targetId) => gateway.moveLeader(leaderEndpoint, targetId),
    hashKv: (endpoint, revision, timeoutMs) => gateway.hashKv(endpoint, revision, timeoutMs),
    revision: (endpoint) => gateway.revision(endpoint),
    localRevision: (endpoint) => gateway.localRevision(endpoint),
    keyCount: (endpoint, revision, timeoutMs) => gateway.keyCount(endpoint, revision, timeoutMs),
    snapshot: (endpoint, path, timeoutMs) => gateway.snapshot(endpoint, path, timeoutMs),
    defragment: (endpoint, timeoutMs) => gateway.defragment(endpoint, timeoutMs),
    compact: (revision, endpoints, timeoutMs) => gateway.compact(revision, endpoints, timeoutMs),
    disarmAlarm: (memberId, alarm, endpoints) => gateway.disarmAlarm(memberId, alarm, endpoints),
    put: (key, value, endpoints) => gateway.put(key, value, endpoints),
    close: () => gateway.close(),
  };

  const signal = async (event: WorldEvent & { member: string }): Promise<void> => {
    const member = byRef(event.member);
    const proc = member.proc;
    if (!proc?.running) throw new Error(`${event.kind} ${member.name}: its process is not running`);
    switch (event.kind) {
      case 'kill':
        if (event.restart !== false) throw new Error(`kill ${member.name} with a restart: the real target does not restart members (say restart: false)`);
        await proc.kill();
        if (proc.running) throw new Error(`kill ${member.name}: the process did not exit after SIGKILL`);
        return peersSee(member, false, `kill ${member.name}`);
      case 'freeze':
      // Partition, as SIGSTOP. There are no network namespaces here to cut a member off for real. A stopped member
      // is cut off from its peers exactly as a partitioned one (they stop hearing it; the strict reconfiguration
      // checks and elections of the others see the same thing), but it also stops answering its own clients,
      // where a partitioned one answers from a stale view and says it knows no leader. Through the gateway both
      // end the same way for a member list or a change that needs the leader: no answer, membership unknown. A
      // scenario that needs the cut-off member's own stale answer cannot run here.
      // falls through
      case 'partition':
        if (member.frozen) return;
        proc.signal('SIGSTOP');
        member.frozen = true;
        return peersSee(member, false, `${event.kind} ${member.name}`);
      case 'thaw':
      case 'heal':
        if (!member.frozen) return;
        proc.signal('SIGCONT');
        member.frozen = false;
        return peersSee(member, true, `${event.kind} ${member.name}`);
      default:
        throw new Error(`event ${event.kind} is not a member event`);
    }
  };

  const target: ScenarioTarget = {
    etcd,
    endpointOf: (ref) => {
      const learner = learnerPeers.get(ref);
      if (learner !== undefined) return `http://${urlHost(learner) ?? ''}:${ETCD_CLIENT_PORT}`;
      return byRef(ref).clientURL;
    },
    idOf: (name) => members.find((m) => m.name === name)?.id ?? name,
    leader: () =>
      waitFor(
        'a leader agreed by the running members',
        async () => {
          const statuses = await Promise.all(running().map((m) => gateway.endpointStatus(m.clientURL)));
          return agreedLeader(statuses);
        },
        { timeoutMs: PEER_DEADLINE_MS, intervalMs: 200 },
      ),
    nodeIP: realIP,
    apply: async (event) => {
      switch (event.kind) {
        case 'kill':
        case 'freeze':
        case 'thaw':
        case 'partition':
          return signal(event);
        case 'heal':
          if (event.member !== undefined) return signal({ kind: 'heal', member: event.member });
          for (const m of members.filter((x) => x.frozen)) await signal({ kind: 'heal', member: m.name });
          return;
        case 'advance':
          await sleep(event.ms);
          return;
        case 'put':
          await gateway.firstAnswer(`put ${event.key}`, (c) => c.put(event.key).value(event.value).exec(), members.map((m) => m.clientURL));
          return;
        case 'node-down':
        case 'node-up':
          throw new Error(`event ${event.kind} has no real counterpart in the contract target yet: add one before a scenario uses it`);
      }
    },
    startMember: async ({ name, node, initialCluster }) => {
      const address = realIP(node);
      const member: RealMember = {
        name,
        node,
        address,
        clientURL: `http://${address}:${ETCD_CLIENT_PORT}`,
        peerURL: `http://${address}:${ETCD_PEER_PORT}`,
        logPath: join(options.dir, 'logs', `${name}.log`),
        frozen: false,
      };
      const id = [...learnerPeers].find(([, peer]) => peer === member.peerURL)?.[0];
      if (id !== undefined) member.id = id;
      members.push(member);
      await spawnMember(member, initialCluster, 'existing');
      // Up when it serves its status and follows a leader (a learner answers status; /health may not).
      await waitFor(
        `etcd ${name} joined and follows a leader`,
        async () => {
          const status = await gateway.endpointStatus(member.clientURL);
          return status.reachable && status.leaderId !== undefined && status.leaderId !== '0' ? true : undefined;
        },
        { timeoutMs: START_DEADLINE_MS, intervalMs: 200, abortIf: exitedWhy(member) },
      );
    },
    forceNewCluster: async (ref) => {
      const member = byRef(ref);
      if (member.proc?.running === true) throw new Error(`--force-new-cluster on ${member.name}: its process still runs (kill it with restart: false first)`);
      await spawnMember(member, `${member.name}=${member.peerURL}`, 'new', ['--force-new-cluster']);
      await waitFor(
        `etcd ${member.name} leads a one-member cluster after --force-new-cluster`,
        async () => {
          const status = await gateway.endpointStatus(member.clientURL);
          return status.reachable && status.leaderId === member.id ? true : undefined;
        },
        { timeoutMs: START_DEADLINE_MS, intervalMs: 200, abortIf: exitedWhy(member) },
      );
    },
    wait: async (ms) => {
      await sleep(ms);
    },
  };

  return { target, logs: () => members.map((m) => m.logPath), stop };
}
