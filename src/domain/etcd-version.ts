/**
 * What the guardian does differently per etcd version, as pure answers: which versions it is tested with, which HTTP
 * endpoint tells whether a member is ready or alive, and which tool restores or verifies a snapshot. Kubernetes runs
 * etcd 3.5 and 3.6; 3.4 is still what Debian ships.
 */

/** The etcd minor versions the guardian is tested with (CI: every suite on 3.6, a subset on 3.4; the matrix: all). */
export const TESTED_ETCD_MINORS = ['3.4', '3.5', '3.6'] as const;

/** One of the tested minor versions. */
export type EtcdMinor = (typeof TESTED_ETCD_MINORS)[number];

/** A parsed etcd version (`3.6.16`, `v3.5.0-rc.1`). */
export interface EtcdVersion {
  major: number;
  minor: number;
  patch: number;
  /** The version as etcd reported it. */
  text: string;
}

/** Parses `3.6.16`, `v3.6.16` or `3.6.0-rc.2`; undefined for anything else. */
export function parseEtcdVersion(text: string): EtcdVersion | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]), text: text.trim() };
}

/** `3.6` for 3.6.16. */
export function minorOf(version: EtcdVersion): string {
  return `${version.major}.${version.minor}`;
}

/** Whether `version` is at least major.minor.patch. */
export function atLeast(version: EtcdVersion, major: number, minor: number, patch = 0): boolean {
  if (version.major !== major) return version.major > major;
  if (version.minor !== minor) return version.minor > minor;
  return version.patch >= patch;
}

/** Whether the guardian is tested with this version's minor. */
export function isTestedEtcdVersion(version: EtcdVersion): boolean {
  return (TESTED_ETCD_MINORS as readonly string[]).includes(minorOf(version));
}

/**
 * The HTTP path that says whether a member can serve: `/readyz` from 3.5.11 (no corruption alarm, a local and a
 * linearizable read succeed), `/health` before (a leader and a quorum read). Both answer 200 when ready; `/health`'s
 * body also says `"health":"true"`.
 */
export function readinessPath(version: EtcdVersion): '/readyz' | '/health' {
  return atLeast(version, 3, 5, 11) ? '/readyz' : '/health';
}

/**
 * The HTTP path that says whether a member's process is alive (a restart would help otherwise): `/livez` from 3.5.11
 * (a local read succeeds, whatever the cluster's state); before that only `/health?serializable=true` comes close.
 */
export function livenessPath(version: EtcdVersion): '/livez' | '/health?serializable=true' {
  return atLeast(version, 3, 5, 11) ? '/livez' : '/health?serializable=true';
}

/** The command that restores or checks a snapshot file offline, and how. */
export interface SnapshotTool {
  /** The binary: etcdutl from 3.5 (etcdctl's offline snapshot commands are deprecated in 3.5, gone in 3.6). */
  command: 'etcdutl' | 'etcdctl';
  /** Arguments that print a snapshot's hash, revision, keys and size as JSON. */
  statusArgs: (snapshotFile: string) => string[];
  /** Arguments that restore a snapshot into a new data directory for a member. */
  restoreArgs: (params: { snapshotFile: string; dataDir: string; name: string; initialCluster: string; initialAdvertisePeerUrls: string; token: string }) => string[];
}

/**
 * How to restore or verify a snapshot for members of `version`: `etcdutl snapshot restore|status` on 3.5 and later,
 * `etcdctl snapshot restore|status` on 3.4 (which has no etcdutl). The flags are the same in both.
 */
export function snapshotTool(version: EtcdVersion): SnapshotTool {
  const command = atLeast(version, 3, 5) ? 'etcdutl' : 'etcdctl';
  return {
    command,
    statusArgs: (snapshotFile) => ['snapshot', 'status', snapshotFile, '--write-out=json'],
    restoreArgs: (p) => [
      'snapshot',
      'restore',
      p.snapshotFile,
      `--data-dir=${p.dataDir}`,
      `--name=${p.name}`,
      `--initial-cluster=${p.initialCluster}`,
      `--initial-advertise-peer-urls=${p.initialAdvertisePeerUrls}`,
      `--initial-cluster-token=${p.token}`,
    ],
  };
}

/** A member and the version its status reported (absent when it did not answer). */
export interface MemberVersion {
  name: string;
  version?: string;
}

/**
 * One line per member whose etcd version the guardian has not been tested with, in member order:
 * `etcd 3.7.3 on etcd-2: not tested with this guardian (tested: 3.4, 3.5, 3.6)`. A member that reported no version
 * says nothing; a version that cannot be read is named as it came.
 */
export function untestedVersionNotes(members: readonly MemberVersion[]): string[] {
  const tested = `tested: ${TESTED_ETCD_MINORS.join(', ')}`;
  const notes: string[] = [];
  for (const member of members) {
    if (member.version === undefined || member.version === '') continue;
    const parsed = parseEtcdVersion(member.version);
    if (parsed !== undefined && isTestedEtcdVersion(parsed)) continue;
    const shown = parsed === undefined ? JSON.stringify(member.version) : parsed.text;
    notes.push(`etcd ${shown} on ${member.name}: not tested with this guardian (${tested})`);
  }
  return notes;
}

/**
 * Whether a member's peers mark a silent peer (frozen, or cut off without a reset) inactive after the 5 s stream read
 * timeout: etcd 3.4 does; from 3.5 the peer transport's dialer carries no read timeout (`http.Transport.DialContext`
 * takes priority over the timeout `Dial`), so `etcd_network_active_peers` keeps a silent peer active, and only a closed
 * connection (a killed member) turns it inactive. Raft itself still notices: the others elect a leader among themselves.
 */
export function peersMarkSilentPeerInactive(version: EtcdVersion): boolean {
  return !atLeast(version, 3, 5);
}

/**
 * The gRPC code of a learner's refusal of a request it does not serve (writes, linearizable reads, member changes):
 * `FAILED_PRECONDITION` from etcd 3.6, `UNAVAILABLE` before. A client fails over to its next endpoint only on the
 * latter, so from 3.6 a client that lists a learner's endpoint sees the refusal itself.
 */
export function learnerRefusalCode(version: EtcdVersion): 'UNAVAILABLE' | 'FAILED_PRECONDITION' {
  return atLeast(version, 3, 6) ? 'FAILED_PRECONDITION' : 'UNAVAILABLE';
}
