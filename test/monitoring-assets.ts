import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GUARDIAN_METRICS, type MetricDefinition } from '../src/observability/metric-definitions';

/**
 * deploy/monitoring's alerting rules and Grafana dashboard, as the tests read them: every PromQL expression, and
 * every guardian metric the expressions use, as a scrape names it.
 */

export const MONITORING_DIR = join(__dirname, '..', 'deploy', 'monitoring');

/** Metrics Prometheus makes itself, not the worker. */
export const PROMETHEUS_OWN = new Set(['up']);

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The rules of alerts.yaml. */
export function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(join(MONITORING_DIR, 'alerts.yaml'), 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export interface DashboardPanel {
  id: number;
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { refId: string; expr: string; legendFormat?: string }[];
}

/** The dashboard's document and its panels (rows included). */
export function dashboard(): { title: string; uid: string; panels: DashboardPanel[]; templating: { list: { name: string; query: unknown }[] } } {
  return JSON.parse(readFileSync(join(MONITORING_DIR, 'dashboard.json'), 'utf8')) as ReturnType<typeof dashboard>;
}

/** Every expression of the rules and the dashboard's panels, with where it comes from. */
export function monitoringExpressions(): { where: string; expr: string }[] {
  return [
    ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr }))),
  ];
}

/** The metric names an expression selects: guardian ones and Prometheus's own. */
export function metricsIn(expr: string): string[] {
  const names = [...expr.matchAll(/\b(etcd_guardian_[a-z0-9_]+|up)\b(?=\s*[{[)\s]|$)/g)].map((m) => m[1] ?? '');
  return [...new Set(names)];
}

/** The names a scrape shows for a metric: counters with _total, histograms as _bucket, _sum and _count. */
export function scrapedNames(definition: MetricDefinition): string[] {
  switch (definition.kind) {
    case 'counter':
      return [`${definition.name}_total`];
    case 'histogram':
      return ['_bucket', '_sum', '_count'].map((suffix) => `${definition.name}${suffix}`);
    default:
      return [definition.name];
  }
}

/** Every name a worker's scrape may show for the guardian's metrics. */
export function guardianScrapeNames(): Set<string> {
  return new Set((Object.values(GUARDIAN_METRICS) as MetricDefinition[]).flatMap(scrapedNames));
}
