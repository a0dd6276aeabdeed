import { Etcd3 } from 'etcd3';
import { noop } from 'cockatiel';
import { withTimeout } from '../../../src/errors';

/**
 * What a skeptical SRE checks around a migration: a writer that keeps writing numbered keys, a sampler that keeps
 * counting healthy voters against quorum, and a final audit. Uses only the public etcd3 client.
 */

function client(hosts: string[], timeoutMs: number): Etcd3 {
  return new Etcd3({ hosts, dialTimeout: timeoutMs, faultHandling: { host: () => noop, global: noop } });
}

/**
 * The client URLs of the current members, asked of any endpoint that answers a linearizable member list: a member
 * that was removed but still runs would otherwise answer with the membership it last knew. `votersOnly` leaves
 * learners out, as an application's client does (clientv3's endpoint sync filters them since 3.5.3): a learner
 * refuses reads and writes, and from etcd 3.6 with FAILED_PRECONDITION, which a client does not fail over from
 * (3.4 and 3.5 answer UNAVAILABLE, and the client tries the next endpoint).
 */
export async function currentEndpoints(seeds: readonly string[], options: { votersOnly?: boolean } = {}): Promise<string[]> {
  for (const seed of seeds) {
    const c = client([seed], 1000);
    try {
      const list = await withTimeout(c.cluster.memberList({ linearizable: true }), 2000, 'member list');
      return list.members.filter((m) => options.votersOnly !== true || m.isLearner !== true).flatMap((m) => m.clientURLs);
    } catch {
      // try the next seed
    } finally {
      c.close();
    }
  }
  return [...seeds];
}

/** A writer of numbered keys through every member in turn; counts what was acknowledged and what failed. */
/** Loops still running: a test that fails before its audit must not leave them keeping Jest alive. */
const runningLoops = new Set<{ stop(): Promise<void> }>();

/** Stops every writer and sampler a test left running (called after each integration test). */
export async function stopAllLoops(): Promise<void> {
  await Promise.all([...runningLoops].map((loop) => loop.stop()));
}

export class Writer {
  readonly acked: string[] = [];
  readonly failures: string[] = [];
  readonly latenciesMs: number[] = [];
  /** Every write, acknowledged or not: when it started, how long it took, and whether it was acknowledged. */
  readonly writes: { at: number; ms: number; ok: boolean }[] = [];
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private endpoints: string[],
    private readonly prefix = 'invariant/key-',
  ) {}

  /** Start writing one key every `everyMs`. */
  start(everyMs = 50): void {
    this.running = true;
    runningLoops.add(this);
    this.loop = (async () => {
      let n = 0;
      // The members of now before the first write: the seeds may be the addresses of members moved away since (a
      // client given a dead address may wait on it), then every 2 s.
      let refreshAt = 0;
      while (this.running) {
        if (Date.now() > refreshAt) {
          this.endpoints = await currentEndpoints(this.endpoints, { votersOnly: true });
          refreshAt = Date.now() + 2000;
        }
        const key = `${this.prefix}${String(n++).padStart(6, '0')}`;
        // An application's client: several endpoints and etcd3's own retry and failover.
        const c = new Etcd3({ hosts: this.endpoints, dialTimeout: 2000 });
        const started = Date.now();
        try {
          await withTimeout(c.put(key).value(String(n)).exec(), 5000, `put ${key}`);
          this.acked.push(key);
          this.latenciesMs.push(Date.now() - started);
          this.writes.push({ at: started, ms: Date.now() - started, ok: true });
        } catch (error) {
          this.writes.push({ at: started, ms: Date.now() - started, ok: false });
          this.failures.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
        } finally {
          c.close();
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
  }

  /** Stop writing and wait for the last write. */
  async stop(): Promise<void> {
    this.running = false;
    runningLoops.delete(this);
    await this.loop;
  }
}

/** One sample of the voters' health. */
export interface QuorumSample {
  at: number;
  voters: number;
  healthyVoters: number;
  quorum: number;
  /** The voters that did not answer, and why: what a failed audit prints. */
  down?: string[];
  /** The voters that answered, but later than SLOW_STATUS_MS: shown in the audit, counted healthy. */
  slow?: { member: string; ms: number }[];
  /** The endpoint whose member list the sample used. */
  from?: string;
}

/**
 * How long a voter's status may take before the sampler calls it down: etcdctl's default command timeout, which
 * `etcdctl endpoint health` uses. A member that answers is up, however slowly: on this shared 2-core machine a
 * process that waits for the CPU, or a disk every member shares, can hold an answer past a second or two, and a
 * deadline that short took a stall of the machine for all three members down at once (CI, 2026-12-02: three
 * statuses timed out after 1564-1619 ms in one sample of the NOSPACE game day).
 */
const STATUS_DOWN_MS = 5_000;
/** An answer later than this is listed as slow in the audit. */
const SLOW_STATUS_MS = 1_500;

/** Samples in flight at once, at most: a stall of every member must not open connections without end. */
const MAX_SAMPLES_IN_FLIGHT = 8;

/**
 * Samples healthy voters against quorum several times a second. A sample starts every `everyMs` whether or not the
 * one before has finished: a voter that takes seconds to answer must not space the samples out. A sample in which no
 * member answers a member list counts every voter down.
 */
export class QuorumSampler {
  readonly samples: QuorumSample[] = [];
  private running = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Voters in the last member list, to count a sample in which none answered. */
  private lastVoters: number | undefined;

  constructor(private endpoints: string[]) {}

  start(everyMs = 250): void {
    this.running = true;
    runningLoops.add(this);
    this.loop = (async () => {
      while (this.running) {
        if (this.inFlight.size < MAX_SAMPLES_IN_FLIGHT) {
          const one: Promise<void> = this.sample().then((sample) => {
            this.samples.push(sample);
            this.inFlight.delete(one);
          });
          this.inFlight.add(one);
        }
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      await Promise.all([...this.inFlight]);
    })();
  }

  private async sample(): Promise<QuorumSample> {
    const failures: string[] = [];
    for (const seed of this.endpoints) {
      const c = client([seed], 1000);
      try {
        const list = await withTimeout(c.cluster.memberList({ linearizable: false }), STATUS_DOWN_MS, 'member list');
        const voters = list.members.filter((m) => !m.isLearner);
        this.lastVoters = voters.length;
        this.endpoints = [...new Set([...list.members.flatMap((m) => m.clientURLs), ...this.endpoints])];
        const down: string[] = [];
        const slow: { member: string; ms: number }[] = [];
        const health = await Promise.all(
          voters.map(async (m) => {
            const url = m.clientURLs[0];
            if (!url) {
              down.push(`${m.name || m.ID}: no client URL yet`);
              return false;
            }
            const one = client([url], 1000);
            const started = Date.now();
            try {
              // A member that answers counts: a leadership hand-over leaves followers without a leader for an
              // instant, and that is not a member going down.
              await withTimeout(one.maintenance.status(), STATUS_DOWN_MS, `status of ${url}`);
              const took = Date.now() - started;
              if (took > SLOW_STATUS_MS) slow.push({ member: m.name || m.ID, ms: took });
              return true;
            } catch (error) {
              down.push(`${m.name || m.ID} ${url} after ${Date.now() - started} ms: ${error instanceof Error ? error.message : String(error)}`);
              return false;
            } finally {
              one.close();
            }
          }),
        );
        return {
          at: Date.now(),
          voters: voters.length,
          healthyVoters: health.filter(Boolean).length,
          quorum: Math.floor(voters.length / 2) + 1,
          ...(down.length > 0 ? { down, from: seed } : {}),
          ...(slow.length > 0 ? { slow } : {}),
        };
      } catch (error) {
        failures.push(`${seed}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        c.close();
      }
    }
    const voters = this.lastVoters ?? this.endpoints.length;
    return { at: Date.now(), voters, healthyVoters: 0, quorum: Math.floor(voters / 2) + 1, down: [`no member answered a member list: ${failures.join('; ')}`] };
  }

  async stop(): Promise<void> {
    this.running = false;
    runningLoops.delete(this);
    await this.loop;
  }

  /** Every client URL the sampler has seen, new members included. */
  endpointsSeen(): string[] {
    return [...this.endpoints];
  }

  /** Samples in which some voter answered later than SLOW_STATUS_MS. */
  slowSamples(): QuorumSample[] {
    return this.samples.filter((s) => (s.slow?.length ?? 0) > 0);
  }

  /** Samples in which fewer voters were healthy than quorum needs. */
  belowQuorum(): QuorumSample[] {
    return this.samples.filter((s) => s.healthyVoters < s.quorum);
  }
}

/** Keys of `keys` that cannot be read back through the cluster. */
export async function missingKeys(endpoints: string[], keys: readonly string[]): Promise<string[]> {
  const c = new Etcd3({ hosts: await currentEndpoints(endpoints, { votersOnly: true }), dialTimeout: 3000 });
  try {
    const missing: string[] = [];
    for (let i = 0; i < keys.length; i += 200) {
      const batch = keys.slice(i, i + 200);
      const values = await Promise.all(batch.map((k) => c.get(k).string()));
      batch.forEach((k, j) => {
        if (values[j] === null) missing.push(k);
      });
    }
    return missing;
  } finally {
    c.close();
  }
}

/** HashKV of every member at one revision: a single distinct value means they agree. */
export async function hashKvOfEveryMember(endpoints: string[]): Promise<Record<string, string>> {
  const urls = await currentEndpoints(endpoints);
  const first = client([urls[0] ?? ''], 3000);
  let revision: number;
  try {
    revision = Number((await first.get('invariant/none').exec()).header.revision);
  } finally {
    first.close();
  }
  const hashes: Record<string, string> = {};
  for (const url of urls) {
    const c = client([url], 3000);
    try {
      // etcd3 1.1.2's maintenance.hashKV() asks gRPC for the wrong method name; the pool knows the right one.
      const pool = (c as unknown as { pool: { exec<T>(service: string, method: string, payload: unknown): Promise<T> } }).pool;
      const answer = await pool.exec<{ hash: string }>('Maintenance', 'hashKv', { revision });
      hashes[url] = String(answer.hash);
    } finally {
      c.close();
    }
  }
  return hashes;
}
