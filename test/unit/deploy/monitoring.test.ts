import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { alertRules, dashboard, guardianScrapeNames, metricsIn, MONITORING_DIR, monitoringExpressions, PROMETHEUS_OWN } from '../../monitoring-assets';

/**
 * deploy/monitoring: the alerting rules pass promtool's checks and unit tests (Debian's prometheus package ships
 * promtool; scripts/install-test-tools.sh installs it), and the rules and the dashboard only use metrics the worker
 * defines (test/integration/metrics.test.ts checks a running worker exports each of them).
 */

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: MONITORING_DIR, encoding: 'utf8' });
  if (run.error) {
    throw new Error(`promtool could not be run (${run.error.message}): run scripts/install-test-tools.sh, which installs Debian's prometheus package (promtool)`);
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the alerting rules', () => {
  it('pass promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yaml');
    expect(output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(status).toBe(0);
  });

  it('pass their promtool unit tests', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yaml');
    expect(output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('each have a unit test in which they fire', () => {
    const tests = parse(readFileSync(join(MONITORING_DIR, 'alerts.test.yaml'), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };
    const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    expect(alertRules().map((r) => r.alert).filter((name) => !firing.has(name))).toEqual([]);
  });

  it.each(alertRules().map((r) => [r.alert, r] as const))('%s has a severity, a summary and a description that starts the runbook', (_name, rule) => {
    expect(['critical', 'warning']).toContain(rule.labels?.['severity']);
    expect(rule.annotations?.['summary']).toMatch(/\S/);
    expect(rule.annotations?.['description']).toMatch(/etcd-guardian|Temporal UI|pod's events/);
  });
});

describe('the dashboard', () => {
  const doc = dashboard();
  const panels = doc.panels.filter((p) => p.type !== 'row');

  it('has a uid, a Prometheus datasource variable and a cluster variable', () => {
    expect(doc.uid).toBe('etcd-guardian');
    expect(doc.templating.list.map((v) => v.name)).toEqual(['datasource', 'cluster']);
  });

  it('queries through the datasource variable and filters by the cluster variable in every panel', () => {
    for (const panel of panels) {
      expect([panel.title, panel.datasource?.uid]).toEqual([panel.title, '${datasource}']);
      expect([panel.title, (panel.targets ?? []).length > 0]).toEqual([panel.title, true]);
      for (const target of panel.targets ?? []) expect([panel.title, target.expr]).toEqual([panel.title, expect.stringContaining('cluster=~"$cluster"')]);
    }
  });

  it('lays its panels out without overlaps, on Grafana\'s 24-column grid', () => {
    const cells = new Map<string, string>();
    for (const panel of doc.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect([panel.title, x + w <= 24]).toEqual([panel.title, true]);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const other = cells.get(`${i},${j}`);
          expect([panel.title, other]).toEqual([panel.title, undefined]);
          cells.set(`${i},${j}`, panel.title);
        }
      }
    }
  });

  it('shows cluster health, fault tolerance, findings, migrations and their step durations', () => {
    const used = new Set(panels.flatMap((p) => (p.targets ?? []).flatMap((t) => metricsIn(t.expr))));
    for (const name of [
      'etcd_guardian_cluster_health',
      'etcd_guardian_cluster_fault_tolerance',
      'etcd_guardian_cluster_findings',
      'etcd_guardian_migrations_total',
      'etcd_guardian_migration_step_duration_seconds_bucket',
    ]) {
      expect([name, used.has(name)]).toEqual([name, true]);
    }
  });
});

describe('the metrics the rules and the dashboard use', () => {
  it.each(monitoringExpressions().map((e) => [e.where, e.expr] as const))('%s uses only metrics the worker defines', (_where, expr) => {
    const names = metricsIn(expr);
    expect(names.length).toBeGreaterThan(0);
    const known = guardianScrapeNames();
    expect(names.filter((name) => !known.has(name) && !PROMETHEUS_OWN.has(name))).toEqual([]);
  });
});
