import { dataFaultOf } from '../../../src/domain/data-fault';

/** Lines as etcd writes them (3.4 to 3.6), cut to what matters; the first two were taken from the sandbox's members. */
describe('dataFaultOf', () => {
  it.each<[string, string | undefined, string | undefined]>([
    [
      'a wiped data directory, restarted as --initial-cluster-state=new (3.6)',
      '{"level":"fatal","ts":"2026-12-01T14:22:36.045691Z","caller":"etcdmain/etcd.go:183","msg":"discovery failed","error":"member 4fdc66716f67c6c8 has already been bootstrapped","stacktrace":"go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2"}',
      'its data directory was wiped: etcd refuses to bootstrap member 4fdc66716f67c6c8 again, which the cluster already has ("has already been bootstrapped")',
    ],
    [
      "a wiped successor's restart as --initial-cluster-state=existing with the flags of a membership since changed (3.6, the message's end)",
      'RemovedMemberIDs:[]}: PeerURLs: no match found for existing member (3340cec9cca334d5, [http://127.20.0.3:2380]), last resolver error (resolved urls: \\"http://127.20.0.3:2380\\" != \\"http://127.20.0.6:2380\\")","stacktrace":"go.etcd.io/etcd/server/v3/etcdmain.startEtcdOrProxyV2"}',
      'its data directory was wiped: etcd starts it as a new member, and its --initial-cluster no longer matches the cluster ("no match found for existing member")',
    ],
    [
      'the same with a member more or less than its flags name',
      '{"level":"fatal","msg":"discovery failed","error":"error validating peerURLs {ClusterID:fbb9ee1fd58add55 Members:[...] RemovedMemberIDs:[]}: member count is unequal"}',
      'its data directory was wiped: etcd starts it as a new member, and its --initial-cluster no longer matches the cluster ("member count is unequal")',
    ],
    [
      'a database file overwritten (3.6, zap panic then the Go panic)',
      '{"level":"panic","ts":"2026-12-01T14:22:58.619760Z","caller":"backend/backend.go:205","msg":"failed to open database","error":"invalid database"}\npanic: failed to open database\n\ngoroutine 121 [running]:',
      'its database file (member/snap/db) is corrupt: etcd cannot open it',
    ],
    [
      'a raft log lost while the member id stayed (raft panic)',
      'panic: tocommit(1042) is out of range [lastIndex(0)]. Was the raft log corrupted, truncated, or lost?',
      "its raft log is gone or truncated (a wiped or damaged data directory): the leader committed index 1042 and the member's log ends at 0",
    ],
    [
      "the same panic cut to the end of its stack by the message's 2048 bytes",
      '\tgo.uber.org/zap@v1.27.0/sugar.go:355 +0x12d\ngo.etcd.io/raft/v3.(*raftLog).commitTo(0xc0001a6380, 0x41a)\n\tgo.etcd.io/raft/v3@v3.6.0/log.go:322 +0x13c\ngo.etcd.io/raft/v3.(*raft).handleHeartbeat(0xc000352f08, {0x8, 0x9e1f, 0x0})',
      "its raft log is gone or truncated (a wiped or damaged data directory): raft panicked committing entries the member's log does not have",
    ],
    ['a write-ahead log failing its checksum', '{"level":"fatal","msg":"failed to read WAL","error":"walpb: crc mismatch"}', "its write-ahead log is corrupt (crc mismatch)"],
    ['a truncated write-ahead log', '{"level":"fatal","msg":"failed to open WAL","error":"wal: unexpected EOF"}', "its write-ahead log is damaged: etcd cannot read it"],
    [
      'a database older than the snapshot the log names (3.5)',
      '{"level":"panic","msg":"failed to recover v3 backend from snapshot","error":"failed to find database snapshot file (snap: snapshot file doesn\'t exist)"}',
      "its database is missing or older than its write-ahead log's snapshot (etcd cannot recover its v3 backend)",
    ],
    [
      "a database file overwritten under the running member (3.6): bbolt's check fails on its next read, the panic's line cut off by the 2048 bytes",
      ', 0x4}, 0x0?)\n\tgo.etcd.io/bbolt@v1.4.3/cursor.go:284 +0x45\ngo.etcd.io/bbolt.(*Cursor).seek(0x3f58e6ec17e8, {0x1d64bec?, 0x4?, 0x0?})\n\tgo.etcd.io/bbolt@v1.4.3/cursor.go:162 +0x2e\ngo.etcd.io/etcd/server/v3/storage/backend.(*baseReadTx).UnsafeRange(0x3f58e6af6f50)\n\tgo.etcd.io/etcd/server/v3@v3.6.16/storage/backend/read_tx.go:103 +0x24d',
      'its database file (member/snap/db) is corrupt: etcd crashed reading it (a panic inside bbolt, its database library)',
    ],
    [
      'the same with its panic line',
      'panic: assertion failed: Page expected to be: 4, but self identifies as 6231114846630614414\n\ngoroutine 146 [running]:\ngo.etcd.io/bbolt/internal/common.Assert(...)',
      'its database file (member/snap/db) is corrupt: etcd crashed reading it (a panic inside bbolt, its database library)',
    ],
    [
      'a database file truncated under the running member (SIGBUS on its map)',
      'unexpected fault address 0x7f3ab55e4620\nfatal error: fault\n[signal SIGBUS: bus error code=0x2 addr=0x7f3ab55e4620 pc=0x9c1b5e]',
      'its database file (member/snap/db) is corrupt: etcd crashed reading it (a panic inside bbolt, its database library)',
    ],
    [
      'out of memory while growing the database map: not a data fault, though the stack runs through bbolt',
      'fatal error: runtime: out of memory\n\ngoroutine 88 [running]:\ngo.etcd.io/bbolt.(*DB).mmap(0xc000194480, 0x80000000)\n\tgo.etcd.io/bbolt@v1.4.3/db.go:420 +0x1a5',
      undefined,
    ],
    [
      "a panic elsewhere in etcd, bbolt only named in a file path's module version",
      'panic: runtime error: invalid memory address or nil pointer dereference\ngo.etcd.io/etcd/server/v3/etcdserver.(*EtcdServer).apply(0xc0001)\n\tgo.etcd.io/etcd/server/v3@v3.6.16/etcdserver/server.go:1837 +0x5a (uses go.etcd.io/bbolt@v1.4.3)',
      undefined,
    ],
    ['a crash that is not about data', '{"level":"fatal","msg":"listen tcp 127.20.0.2:2380: bind: address already in use"}', undefined],
    ['a killed process leaves no message', undefined, undefined],
    ['an empty message', '', undefined],
  ])('%s', (_case, message, expected) => {
    expect(dataFaultOf(message)).toBe(expected);
  });
});
