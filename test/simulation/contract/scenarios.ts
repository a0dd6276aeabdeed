import type { Scenario } from './scenario';

/** Scripted scenarios whose outcomes real etcd (3.4–3.6, strict reconfiguration) and the model must agree on. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'one learner at a time',
    members: 3,
    steps: [
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { ok: true } },
      { call: 'addLearner', node: 'node-4', at: ['etcd-0'], expect: { refused: 'etcdserver: too many learner members in cluster' } },
      { call: 'removeMember', member: '$learner', at: ['etcd-0'], expect: { ok: true } },
      { call: 'addLearner', node: 'node-4', at: ['etcd-0'], expect: { ok: true } },
    ],
  },
  {
    name: 'a peer URL in use',
    members: 3,
    steps: [{ call: 'addLearner', node: 'node-1', at: ['etcd-0'], expect: { refused: 'etcdserver: Peer URLs already exists' } }],
  },
  {
    name: 'promote only when in sync, then the learner is a voter',
    members: 3,
    steps: [
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { ok: true } },
      { call: 'promoteMember', member: '$learner', at: ['etcd-0'], expect: { refused: 'etcdserver: can only promote a learner member which is in sync with leader' } },
      { startLearner: { name: 'etcd-3', node: 'node-3' } },
      { waitMs: 10_000 },
      { call: 'promoteMember', member: '$learner', at: ['etcd-0'], expect: { ok: true } },
      { call: 'promoteMember', member: '$learner', at: ['etcd-0'], expect: { refused: 'etcdserver: can only promote a learner member' } },
    ],
  },
  {
    name: 'strict reconfiguration with a voter down',
    members: 3,
    steps: [
      // The voter that goes down is the leader, so that both targets take the same path whichever member led first.
      { call: 'moveLeader', to: 'etcd-2', at: '$leader', expect: { ok: true } },
      { event: { kind: 'kill', member: 'etcd-2', restart: false } },
      // The strict checks answer at once, leader or not; the removal below is a proposal and needs the new leader.
      // Real etcd elects one within 1-2 election timeouts (1 s each by default); the model after electionDelayMs.
      { waitMs: 3_000 },
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
      { call: 'removeMember', member: 'etcd-1', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
      { call: 'removeMember', member: 'etcd-2', at: ['etcd-0'], expect: { ok: true } },
      { call: 'removeMember', member: 'etcd-2', at: ['etcd-0'], expect: { refused: 'etcdserver: member not found' } },
    ],
  },
  {
    // etcd 3.4's peers drop a silent member after 5 s: strict reconfiguration refuses a change while a voter is frozen.
    name: 'strict reconfiguration with a voter frozen (etcd 3.4)',
    members: 3,
    silentPeersStayActive: false,
    steps: [
      { call: 'moveLeader', to: 'etcd-0', at: '$leader', expect: { ok: true } },
      { event: { kind: 'freeze', member: 'etcd-2' } },
      { waitMs: 3_000 },
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
      { call: 'removeMember', member: 'etcd-1', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
    ],
  },
  {
    // From 3.5 a frozen member stays active to its peers: etcd's own check lets a learner in and a healthy voter go,
    // leaving two voters of which one is frozen (quorum lost). Only the guardian's projection stands in the way.
    name: 'strict reconfiguration with a voter frozen (etcd 3.5+)',
    members: 3,
    silentPeersStayActive: true,
    steps: [
      { call: 'moveLeader', to: 'etcd-0', at: '$leader', expect: { ok: true } },
      { event: { kind: 'freeze', member: 'etcd-2' } },
      { waitMs: 3_000 },
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { ok: true } },
      { call: 'removeMember', member: 'etcd-1', at: ['etcd-0'], expect: { ok: true } },
    ],
  },
  {
    name: 'move-leader only at the leader',
    members: 3,
    steps: [
      { call: 'moveLeader', to: 'etcd-1', at: '$leader', expect: { ok: true } },
      { call: 'moveLeader', to: 'etcd-2', at: 'etcd-0', expect: { refused: 'etcdserver: not leader' } },
    ],
  },
  {
    name: '--force-new-cluster: the survivor alone, writable, and it can grow again',
    members: 3,
    steps: [
      { call: 'put', key: 'before', at: ['etcd-0', 'etcd-1', 'etcd-2'], expect: { ok: true } },
      { event: { kind: 'kill', member: 'etcd-1', restart: false } },
      { event: { kind: 'kill', member: 'etcd-2', restart: false } },
      { event: { kind: 'kill', member: 'etcd-0', restart: false } },
      { forceNewCluster: 'etcd-0' },
      { call: 'memberList', at: ['etcd-0'], expect: { ok: true, members: ['etcd-0'] } },
      { call: 'put', key: 'after', at: ['etcd-0'], expect: { ok: true } },
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { ok: true } },
      { call: 'memberList', at: ['etcd-0'], expect: { ok: true, members: ['', 'etcd-0'] } },
    ],
  },
  {
    name: 'no member list from a member cut off from its peers',
    members: 3,
    steps: [
      { event: { kind: 'partition', member: 'etcd-0' } },
      { waitMs: 3_000 },
      { call: 'memberList', at: ['etcd-0'], expect: { unavailable: true } },
      // Through the leader that a majority of the members that answer agree on (EtcdGateway.memberList): with every
      // member asked, the two that still hear each other agree. With only etcd-0 and etcd-1 asked, no majority of
      // two can agree while etcd-0 is cut off, unless etcd-1 leads: the outcome would hang on the election.
      { call: 'memberList', at: ['etcd-0', 'etcd-1', 'etcd-2'], expect: { ok: true } },
    ],
  },
  {
    name: 'NOSPACE: refused at the quota, compacted, defragmented, disarmed, writable again',
    members: 3,
    space: { quotaBytes: 16 * 1024 * 1024, valueBytes: 512 * 1024 },
    steps: [
      { call: 'fillUntilRefused', keys: 4, at: ['etcd-0'], expect: { refused: 'etcdserver: mvcc: database space exceeded' } },
      // The alarm is raised: every write is refused, on every member, until it is disarmed.
      { call: 'put', key: 'small', at: ['etcd-1'], expect: { refused: 'etcdserver: mvcc: database space exceeded' } },
      { call: 'compact', at: ['etcd-0'], expect: { ok: true } },
      { call: 'compact', again: true, at: ['etcd-0'], expect: { refused: 'etcdserver: mvcc: required revision has been compacted' } },
      // Compaction frees pages but the alarm stays: still refused.
      { call: 'put', key: 'small', at: ['etcd-0'], expect: { refused: 'etcdserver: mvcc: database space exceeded' } },
      { call: 'defragment', member: 'etcd-1', expect: { ok: true } },
      { call: 'defragment', member: 'etcd-2', expect: { ok: true } },
      { call: 'defragment', member: 'etcd-0', expect: { ok: true } },
      { call: 'disarmNospace', at: ['etcd-0'], expect: { ok: true } },
      { call: 'put', key: 'small', at: ['etcd-0'], expect: { ok: true } },
    ],
  },
];
