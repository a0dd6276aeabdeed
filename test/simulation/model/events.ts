/**
 * What can happen to the world at any moment, besides the guardian's own calls: processes dying or freezing, the
 * network cutting a member off, nodes going down. Plain data, so that a fault schedule prints and replays.
 */

/** A member named by its etcd name, its id, or its peer URL. */
export type MemberRef = string;

/** One thing that happens to the world. */
export type WorldEvent =
  /** The member's process exits; the kubelet restarts it after its back-off unless `restart` is false. */
  | { kind: 'kill'; member: MemberRef; restart?: boolean }
  /** SIGSTOP: the process holds its ports and answers nothing. */
  | { kind: 'freeze'; member: MemberRef }
  /** SIGCONT. */
  | { kind: 'thaw'; member: MemberRef }
  /** The member is cut off from every peer; it still answers its own endpoint, from a stale view. */
  | { kind: 'partition'; member: MemberRef }
  /** Reconnect one member, or every member when none is named. */
  | { kind: 'heal'; member?: MemberRef }
  /** The node's machine stops: its processes stop at once, the node turns NotReady after the monitor's grace. */
  | { kind: 'node-down'; node: string }
  /** The node's machine is back: Ready again, its kubelet restarts its pods and finishes their deletions. */
  | { kind: 'node-up'; node: string }
  /** Time passes. */
  | { kind: 'advance'; ms: number }
  /** A client writes a key (acknowledged only with a quorum). */
  | { kind: 'put'; key: string; value: string };

/** An event in a few words, for a trace. */
export function describeEvent(event: WorldEvent): string {
  switch (event.kind) {
    case 'kill':
      return `kill ${event.member}${event.restart === false ? ' (no restart)' : ''}`;
    case 'freeze':
    case 'thaw':
    case 'partition':
      return `${event.kind} ${event.member}`;
    case 'heal':
      return `heal ${event.member ?? 'all'}`;
    case 'node-down':
    case 'node-up':
      return `${event.kind} ${event.node}`;
    case 'advance':
      return `advance ${event.ms} ms`;
    case 'put':
      return `put ${event.key}`;
  }
}
