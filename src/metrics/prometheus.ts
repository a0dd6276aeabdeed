/**
 * A parser for the Prometheus text exposition format (version 0.0.4), enough for etcd's /metrics: samples with
 * labels, HELP/TYPE comments, escaped label values, +Inf/-Inf/NaN, optional timestamps.
 */

/** One sample line: a metric name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A line that could not be parsed, with its number. */
export class MetricsParseError extends Error {
  readonly code = 'METRICS_PARSE';
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`metrics line ${line}: ${reason}: ${text.length > 120 ? `${text.slice(0, 120)}...` : text}`);
    this.name = 'MetricsParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
    default:
      return text.trim() === '' ? Number.NaN : Number(text);
  }
}

function parseLabels(text: string, lineNo: number, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith('}')) return { labels, rest: rest.slice(1) };
    const name = LABEL_NAME.exec(rest)?.[0];
    if (!name) throw new MetricsParseError(lineNo, line, 'expected a label name');
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('="')) throw new MetricsParseError(lineNo, line, `expected =" after label ${name}`);
    rest = rest.slice(2);
    let value = '';
    let i = 0;
    for (; i < rest.length && rest[i] !== '"'; i++) {
      if (rest[i] === '\\') {
        const next = rest[++i];
        value += next === 'n' ? '\n' : (next ?? '');
      } else {
        value += rest[i];
      }
    }
    if (i >= rest.length) throw new MetricsParseError(lineNo, line, `unterminated value of label ${name}`);
    labels[name] = value;
    rest = rest.slice(i + 1).trimStart();
    if (rest.startsWith(',')) rest = rest.slice(1);
  }
}

/**
 * Parse a whole exposition; throws MetricsParseError naming the first bad line. With `keep`, only the samples of
 * those metric names are parsed and returned (etcd's /metrics holds about 1,500 samples; a monitor reads a dozen).
 */
export function parsePrometheusText(text: string, keep?: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const name = NAME.exec(line)?.[0];
    if (!name) throw new MetricsParseError(index + 1, line, 'expected a metric name');
    if (keep !== undefined && !keep.has(name)) return;
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, index + 1, line));
    const [valueText] = rest.trim().split(/\s+/);
    const value = parseValue(valueText ?? '');
    if (Number.isNaN(value) && valueText !== 'NaN') throw new MetricsParseError(index + 1, line, 'expected a value');
    samples.push({ name, labels, value });
  });
  return samples;
}

/** Cumulative histogram buckets: upper bound to count. */
export type Buckets = { le: number; count: number }[];

/** The `_bucket` series of a histogram, grouped by the given label (or all in one group), sorted by bound. */
export function histogramBuckets(samples: readonly Sample[], name: string, groupBy?: string): Map<string, Buckets> {
  const groups = new Map<string, Buckets>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || s.labels.le === undefined) continue;
    const key = groupBy ? (s.labels[groupBy] ?? '') : '';
    const list = groups.get(key) ?? [];
    list.push({ le: parseValue(s.labels.le), count: s.value });
    groups.set(key, list);
  }
  for (const list of groups.values()) list.sort((a, b) => a.le - b.le);
  return groups;
}

/** Subtract an earlier snapshot of the same buckets, giving the observations made in between. */
export function bucketDelta(current: Buckets, previous: Buckets | undefined): Buckets {
  if (!previous) return current;
  const before = new Map(previous.map((b) => [b.le, b.count]));
  const delta = current.map((b) => ({ le: b.le, count: b.count - (before.get(b.le) ?? 0) }));
  // A counter that went down means the process restarted: its whole histogram is new.
  return delta.some((b) => b.count < 0) ? current : delta;
}

/**
 * The q-quantile estimated from cumulative buckets, as Prometheus' histogram_quantile does: find the bucket the
 * rank falls in and interpolate linearly inside it. Undefined when the histogram holds no observation.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | undefined {
  const last = buckets[buckets.length - 1];
  if (!last || last.count <= 0) return undefined;
  const rank = q * last.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      if (inBucket <= 0) return bucket.le;
      return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

/** The value of the first sample of a metric, optionally matching labels. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
