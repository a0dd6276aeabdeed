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
      { event: { kind: 'kill', member: 'etcd-2', restart: false } },
      { call: 'addLearner', node: 'node-3', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
      { call: 'removeMember', member: 'etcd-1', at: ['etcd-0'], expect: { unavailable: true, reason: 'etcdserver: unhealthy cluster' } },
      { call: 'removeMember', member: 'etcd-2', at: ['etcd-0'], expect: { ok: true } },
      { call: 'removeMember', member: 'etcd-2', at: ['etcd-0'], expect: { refused: 'etcdserver: member not found' } },
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
    name: 'no member list from a member cut off from its peers',
    members: 3,
    steps: [
      { event: { kind: 'partition', member: 'etcd-0' } },
      { waitMs: 3_000 },
      { call: 'memberList', at: ['etcd-0'], expect: { unavailable: true } },
      { call: 'memberList', at: ['etcd-0', 'etcd-1'], expect: { ok: true } },
    ],
  },
];
