/**
 * What a member's last exit says about its data directory. etcd stops with its own words when the directory it starts
 * on is not the one it left: wiped (it refuses to bootstrap a member the cluster already has), a raft log shorter than
 * what the leader committed, a database file that does not open, a write-ahead log that fails its checksum, a snapshot
 * the log expects and the directory lacks. Read from the container's termination message (the end of its log, with
 * `terminationMessagePolicy: FallbackToLogsOnError`: at most 2048 bytes, so a panic's own line may be cut off and only
 * its stack left). Pure.
 */

const CAUSES: readonly [RegExp, (match: RegExpMatchArray) => string][] = [
  [
    /member ([0-9a-f]+) has already been bootstrapped/,
    (m) => `its data directory was wiped: etcd refuses to bootstrap member ${m[1] ?? '?'} again, which the cluster already has ("has already been bootstrapped")`,
  ],
  // A member that has run before validates peers only when it has no write-ahead log: its directory was emptied, and
  // the flags it was created with no longer describe the cluster (the line can be cut to its end: 2048 bytes).
  [
    /(member count is unequal|no match found for existing member)/,
    (m) => `its data directory was wiped: etcd starts it as a new member, and its --initial-cluster no longer matches the cluster ("${m[1] ?? '?'}")`,
  ],
  [
    /tocommit\((\d+)\) is out of range \[lastIndex\((\d+)\)\]/,
    (m) => `its raft log is gone or truncated (a wiped or damaged data directory): the leader committed index ${m[1] ?? '?'} and the member's log ends at ${m[2] ?? '?'}`,
  ],
  // The same panic when the message keeps only the end of its stack (2048 bytes): raft panics in commitTo for nothing else.
  [/\(\*raftLog\)\.commitTo/, () => "its raft log is gone or truncated (a wiped or damaged data directory): raft panicked committing entries the member's log does not have"],
  [/failed to (?:find|recover) .*snapshot|snapshot file doesn't exist/, () => "its database is missing or older than its write-ahead log's snapshot (etcd cannot recover its v3 backend)"],
  [/failed to open database|failed to map db file|invalid database|file size too small|checksum error|page \d+ already freed/, () => 'its database file (member/snap/db) is corrupt: etcd cannot open it'],
  // A database damaged under a running member: bbolt's own checks fail when etcd next reads the page ("assertion
  // failed: Page expected to be: 4, but self identifies as ...", "unexpected fault address" on a truncated mmap). The
  // panic's line is often cut off by the 2048 bytes and only the stack left: a panicking goroutine inside bbolt.
  [
    /assertion failed: Page expected to be|unexpected fault address|^go\.etcd\.io\/bbolt[./(]/m,
    () => 'its database file (member/snap/db) is corrupt: etcd crashed reading it (a panic inside bbolt, its database library)',
  ],
  [/crc mismatch/, () => 'its write-ahead log is corrupt (crc mismatch)'],
  [/failed to (?:open|read) WAL|wal: .*(?:unexpected EOF|file not found|slice bounds out of range)/, () => 'its write-ahead log is damaged: etcd cannot read it'],
];

const OUT_OF_MEMORY = /fatal error: (?:runtime: )?out of memory|cannot allocate memory/;

/** The data fault a termination message names, in a sentence; undefined when it names none (or there is none). */
export function dataFaultOf(message: string | undefined): string | undefined {
  if (message === undefined || message.length === 0) return undefined;
  // A process out of memory can die inside bbolt too (growing its map): that says nothing about the data.
  if (OUT_OF_MEMORY.test(message)) return undefined;
  for (const [pattern, describe] of CAUSES) {
    const match = message.match(pattern);
    if (match) return describe(match);
  }
  return undefined;
}
