import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Percentiles, tables and the report files of the benchmarks. */

// The game-day audit summarises latencies with the same quantile.
export { quantile } from '../test/integration/harness/gameday';

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Milliseconds as seconds with one decimal. */
export function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '-';
}

/** Runs per measurement: BENCH_RUNS (default 5); a smoke run sets BENCH_RUNS=1. */
export function benchRuns(): number {
  const raw = process.env.BENCH_RUNS ?? '5';
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a whole number of at least 1, got "${raw}"`);
  return runs;
}

/** A speed-up such as "34x", or "-" when either side is unknown. */
export function times(baselineMs: number, measuredMs: number): string {
  return Number.isFinite(baselineMs) && Number.isFinite(measuredMs) && measuredMs > 0 ? `${Math.round(baselineMs / measuredMs)}x` : '-';
}

/** Milliseconds spent in each step of a migration, summed per step name (a retried placement has two of some). */
export function stepTotals(steps: readonly { step: string; durationMs?: number }[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const s of steps) if (s.durationMs !== undefined) totals[s.step] = (totals[s.step] ?? 0) + s.durationMs;
  return totals;
}

/** A further table of a report, under its own heading, with the paragraph that says what it shows. */
export interface ReportSection {
  heading: string;
  text: string;
  header: readonly string[];
  rows: readonly (readonly (string | number)[])[];
}

/**
 * Writes bench/results/<name>.json (the raw figures) and <name>.md (a title, the paragraph saying how it was
 * measured, the table, and any further sections), and prints the tables.
 */
export function writeReport(
  name: string,
  report: { title: string; method: string; header: readonly string[]; rows: readonly (readonly (string | number)[])[]; data: unknown; sections?: readonly ReportSection[] },
): void {
  const table = markdownTable(report.header, report.rows);
  const sections = (report.sections ?? []).map((s) => `## ${s.heading}\n\n${s.text}\n\n${markdownTable(s.header, s.rows)}\n`);
  const dir = join(__dirname, 'results');
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(report.data, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.md`), [`# ${report.title}\n\n${report.method}\n\n${table}\n`, ...sections].join('\n'));
  process.stdout.write(`${[table, ...sections].join('\n')}\n`);
}
