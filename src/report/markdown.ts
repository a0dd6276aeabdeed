import type { Finding } from '../domain/risk';
import { decisionReason } from '../observability/cluster-metrics';
import { rootOf } from './history';
import type { ActivityReport, CycleReport, FailureSummary, MigrationReport, MonitorReport, RecoveryReport, TimelineSegment, WorkflowReport } from './types';

/** A post-mortem report as Markdown: a header, then the workflow's own sections, then the timeline. Pure. */

/** Milliseconds as seconds with three decimals, so that a column of them adds up as printed. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')} s`;
}

/** The time of day (UTC) of an ISO time, to the millisecond. */
function clock(iso: string | undefined): string {
  return iso ? iso.slice(11, 23) : '?';
}

function cell(text: string | number | undefined): string {
  return String(text ?? '').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly (string | number | undefined)[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function failureText(f: FailureSummary): string {
  return `${f.type ? `${f.type}: ` : ''}${rootOf(f)}${f.nonRetryable ? ' (not retryable)' : ''}${f.timeoutType ? ` (timeout ${f.timeoutType})` : ''}`;
}

function attemptsText(a: ActivityReport): string {
  return a.attempts > 1 ? `${a.attempts} (${a.attempts - 1} retr${a.attempts === 2 ? 'y' : 'ies'})` : String(a.attempts);
}

function statusWord(report: WorkflowReport): string {
  return report.status === 'continued-as-new' ? 'continued as new' : report.status;
}

function header(report: WorkflowReport, title: string, outcome: string): string[] {
  const rows: [string, string][] = [
    ['workflow', `${report.workflowType} \`${report.workflowId}\``],
    ['run', `\`${report.runId}\``],
    ['outcome', `**${statusWord(report)}**: ${outcome}`],
    ['started', report.startedAt],
    [report.closedAt ? 'closed' : 'as of', report.closedAt ?? report.endAt],
    ['duration', formatDuration(report.durationMs)],
  ];
  if (report.parent) rows.splice(2, 0, ['started by', `\`${report.parent.workflowId}\``]);
  if (report.stopped) rows.push(['stopped', `${report.stopped.reason ?? 'no reason given'}${report.stopped.by ? ` (by ${report.stopped.by})` : ''} at ${report.stopped.at}`]);
  return [`# ${title}`, '', ...table(['', ''], rows), ''];
}

function findingRows(findings: readonly Finding[]): string[] {
  return table(
    ['severity', 'kind', 'subject', 'what', 'evidence', 'samples'],
    findings.map((f) => [
      f.severity,
      f.kind,
      f.member ?? f.node ?? f.pod ?? 'cluster',
      f.message,
      Object.entries(f.evidence ?? {})
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', '),
      `${f.samples}${f.confirmed ? ' (confirmed)' : ' (pending)'}`,
    ]),
  );
}

function timelineRows(report: WorkflowReport, segments: readonly TimelineSegment[]): string[] {
  const byId = new Map(report.activities.map((a) => [a.scheduledEventId, a]));
  const rows = segments.map((s, i) => {
    const running = s.activities.map((id) => byId.get(id)).filter((a): a is ActivityReport => a !== undefined);
    const only = running.length === 1 ? running[0] : undefined;
    const step = s.kind === 'workflow' || s.kind === 'timer' ? `_${s.label}_` : s.label;
    return [
      i + 1,
      step,
      running.map((a) => a.type).join(' ∥ '),
      clock(s.start),
      `+${formatDuration(s.offsetMs)}`,
      formatDuration(s.durationMs),
      only ? attemptsText(only) : '',
      only ? `${only.status === 'completed' ? '✔' : only.status === 'failed' || only.status === 'timed-out' ? '✖' : only.status === 'canceled' ? '⊘' : '…'} ${only.result ?? ''}` : '',
    ];
  });
  rows.push(['', '**total**', '', '', '', `**${formatDuration(report.accounting.totalMs)}**`, '', `= the workflow's duration (${formatDuration(report.durationMs)})`]);
  return table(['#', 'step', 'activity', 'start (UTC)', 'offset', 'duration', 'attempts', 'result'], rows);
}

function accountingLine(report: WorkflowReport, activityWord: string): string {
  const a = report.accounting;
  const pct = (ms: number): string => (report.durationMs > 0 ? ` (${Math.round((ms / report.durationMs) * 100)}%)` : '');
  const parts = [`${activityWord} ${formatDuration(a.activityMs)}${pct(a.activityMs)}`];
  if (a.timerMs > 0) parts.push(`timers ${formatDuration(a.timerMs)}${pct(a.timerMs)}`);
  parts.push(`workflow (scheduling, waits) ${formatDuration(a.workflowMs)}${pct(a.workflowMs)}`);
  return `${parts.join(' + ')} = ${formatDuration(a.totalMs)}, the workflow's duration from start to ${report.closedAt ? 'close' : 'now'}.`;
}

function migrationSections(report: WorkflowReport, m: MigrationReport): string[] {
  const out: string[] = ['## Evidence', ''];
  const e = m.evidence;
  if (e.startedBy === 'monitor') {
    out.push(`Started by the monitor \`${report.parent?.workflowId ?? e.requestedBy ?? '?'}\`${e.decision ? ` in cycle ${e.decision.cycle}${e.decision.observedAt ? ` (observed ${e.decision.observedAt})` : ''}: ${e.decision.summary}` : ''}.`, '');
    out.push(`Reason given: ${e.reason}`, '');
  } else {
    // The Temporal UI starts a workflow without a client identity (every SDK client sends one: pid@host).
    const through = e.clientIdentity ? ` through the Temporal client \`${e.clientIdentity}\`` : ' from the Temporal UI (a start without a client identity)';
    out.push(`Started by an operator${e.requestedBy ? ` (\`${e.requestedBy}\`)` : ''}${through}. Reason given: **${e.reason}**`, '');
  }
  if (e.triggers.length > 0) out.push('Findings that triggered it:', '', ...findingRows(e.triggers), '');
  else if (e.startedBy === 'monitor') out.push('The monitor\'s findings are not in this history, and its history could not be read.', '');
  const request = [m.requestedStrategy ? `strategy ${m.requestedStrategy}` : undefined, m.requestedTargetNode ? `target node ${m.requestedTargetNode}` : undefined, m.dryRun ? 'dry run' : undefined].filter(Boolean);
  if (request.length > 0) out.push(`Requested: ${request.join(', ')}.`, '');

  out.push('## Decision and plan', '');
  const p = m.plan;
  if (!p) {
    out.push('No plan was made (the plan step did not complete).', '');
  } else {
    const where = (rack?: string, domain?: string): string => (rack !== undefined || domain !== undefined ? ` (rack ${rack ?? '?'}, domain ${domain ?? '?'})` : '');
    out.push(
      `- **strategy**: ${p.strategy}`,
      `- **from**: ${p.member.name} (${p.member.id}) on ${p.from ?? '?'}${where(p.member.rack, p.member.domain)}, ${p.member.healthy ? 'healthy' : 'down'}${p.member.isLeader ? ', leader' : ''}`,
      `- **to**: ${p.to}${where(p.toRack, p.toDomain)} as ${p.newMemberName}`,
      ...p.reasons.map((r) => `- why: ${r}`),
      '',
    );
    if (p.candidates.length > 0 || p.refused.length > 0) {
      out.push(
        ...table(
          ['node', 'rack', 'domain', 'placement'],
          [
            ...p.candidates.map((c, i) => [c.node, c.rack ?? '?', c.domain ?? '?', `${i === 0 ? '**chosen**: ' : `candidate ${i + 1}: `}${c.reason}`]),
            ...p.refused.map((r) => [r.node, '', '', `refused: ${r.reasons.join('; ')}`]),
          ],
        ),
        '',
      );
    }
    out.push(
      'Planned steps, with the cluster each leaves behind (projected assuming the worst):',
      '',
      ...table(
        ['#', 'step', 'what', 'destructive', 'voters', 'healthy voters', 'learners', 'quorum', 'fault tolerance'],
        p.steps.map((s, i) => [i + 1, s.step, s.description, s.destructive ? 'yes' : 'no', s.projected.voters, s.projected.healthyVoters, s.projected.learners, s.projected.quorum, s.projected.faultTolerance]),
      ),
      '',
    );
  }
  if (m.placements.length > 0) {
    out.push('Node choices:', '', ...table(['attempt', 'node', 'member', 'outcome', 'why'], m.placements.map((pl) => [pl.attempt, pl.node, pl.memberName ?? '?', pl.outcome, pl.reason ?? ''])), '');
  }
  return out;
}

function afterTimelineMigration(report: WorkflowReport, m: MigrationReport): string[] {
  const out: string[] = [];
  if (m.retried.length > 0) {
    out.push('## Retries', '', ...table(['step', 'activity', 'attempts', 'failure before the last attempt', 'end'], m.retried.map((a) => [a.step, a.type, attemptsText(a), a.lastRetryFailure ? failureText(a.lastRetryFailure) : '?', a.result ?? a.status])), '');
  }
  out.push('## Compensations', '');
  if (m.compensations.length === 0) out.push(report.status === 'completed' || report.status === 'running' ? 'None ran.' : 'None ran: nothing needed undoing.', '');
  else {
    out.push(
      ...table(['step', 'start (UTC)', 'duration', 'attempts', 'result'], m.compensations.map((a) => [a.step, clock(a.scheduledAt), formatDuration(a.durationMs), attemptsText(a), `${a.status === 'completed' ? '✔' : '✖'} ${a.result ?? a.status}`])),
      '',
    );
  }
  if (report.failure) {
    out.push('## Failure', '', `${failureText(report.failure)}`, '');
    if (report.failure.rootMessage) out.push(`(outermost: ${report.failure.message})`, '');
  }
  if (m.clusterAfterFailure) out.push(`Cluster after the failure: ${m.clusterAfterFailure}`, '');

  out.push('## Final membership', '');
  const f = m.finalMembership;
  if (f) {
    out.push(
      ...table(
        ['member', 'node', 'rack', 'domain', 'role', 'from'],
        f.voters.map((v) => [`${v.name}${v.added ? ' (new)' : ''}`, v.node ?? '?', v.rack ?? '?', v.domain ?? '?', v.leader ? 'leader' : 'voter', v.source]),
      ),
      '',
    );
    const racks = f.voters.map((v) => v.rack);
    if (racks.every((r) => r !== undefined)) out.push(`${new Set(racks).size} distinct rack(s) for ${racks.length} voter(s).`, '');
    if (f.removed) out.push(`Removed: ${f.removed.name} on ${f.removed.node ?? '?'} (rack ${f.removed.rack ?? '?'}, domain ${f.removed.domain ?? '?'}).`, '');
    if (f.hash) out.push(`Verified: leader ${f.leader ?? '?'}, HashKV ${f.hash} at revision ${f.revision ?? '?'} on every voter.`, '');
  } else {
    out.push(m.dryRun ? 'Unchanged: a dry run changes nothing.' : 'Not verified: the migration did not reach verify-quorum.', '');
  }
  if (m.backup?.skipped !== undefined) out.push(`No backup: ${m.backup.skipped}`, '');
  else if (m.backup) out.push(`Backup: ${m.backup.bytes} bytes at revision ${m.backup.revision}, sha256 ${m.backup.sha256}, \`${m.backup.path}\`.`, '');
  return out;
}

/** Consecutive quiet cycles (nothing found, nothing decided, nothing failed) fold into one row. */
function cycleRows(cycles: readonly CycleReport[]): (string | number)[][] {
  const rows: (string | number)[][] = [];
  let quiet: CycleReport[] = [];
  const flush = (): void => {
    const first = quiet[0];
    const last = quiet[quiet.length - 1];
    if (first && last) {
      const q = last.quorum;
      rows.push([first === last ? `${first.number}` : `${first.number}–${last.number}`, clock(first.startedAt), formatDuration(quiet.reduce((t, c) => t + c.durationMs, 0)), q ? `${q.healthyVoters}/${q.voters}, tolerance ${q.faultTolerance}` : '?', last.leader ?? '?', 'none', 'none', '']);
    }
    quiet = [];
  };
  for (const c of cycles) {
    const notable = c.failure || c.findings.length > 0 || (c.decision && c.decision.kind !== 'none') || c.migration;
    if (!notable) {
      quiet.push(c);
      continue;
    }
    flush();
    const q = c.quorum;
    const confirmed = c.findings.filter((f) => f.confirmed).length;
    rows.push([
      c.number,
      clock(c.startedAt),
      formatDuration(c.durationMs),
      q ? `${q.healthyVoters}/${q.voters}, tolerance ${q.faultTolerance}` : '?',
      c.leader ?? '?',
      c.findings.length > 0 ? `${confirmed} confirmed, ${c.findings.length - confirmed} pending: ${[...new Set(c.findings.map((f) => f.kind))].join(', ')}` : 'none',
      c.failure ? `cycle failed: ${failureText(c.failure)}` : c.decision ? `${c.decision.kind}: ${c.decision.summary}` : '?',
      c.migration ? `${c.migration.workflowId}: ${c.migration.outcome}` : '',
    ]);
  }
  flush();
  return rows;
}

function monitorSections(report: WorkflowReport, mon: MonitorReport): string[] {
  const out: string[] = [];
  out.push(
    `Cluster **${mon.cluster}**, every ${mon.intervalMs !== undefined ? formatDuration(mon.intervalMs) : '?'}, continue-as-new every ${mon.continueAsNewEvery ?? '?'} cycles; ${mon.cyclesBefore} cycle(s) ran in earlier runs of this monitor.`,
    '',
    '## Cycles',
    '',
    ...table(['cycle', 'start (UTC)', 'duration', 'healthy voters', 'leader', 'findings', 'decision', 'migration'], cycleRows(mon.cycles)),
    '',
    '## Decisions other than none',
    '',
  );
  if (mon.decisions.length === 0) out.push('None: every cycle decided there was nothing to do.', '');
  else out.push(...table(['cycle', 'decision', 'reason', 'summary'], mon.decisions.map((d) => [d.cycle, d.decision.kind, decisionReason(d.decision), d.decision.summary])), '');
  out.push('## Findings', '');
  if (mon.findings.length === 0) out.push('None.', '');
  else {
    out.push(
      ...table(
        ['severity', 'kind', 'subject', 'cycles', 'confirmed', 'last message'],
        mon.findings.map((f) => [f.severity, f.kind, f.subject, f.firstCycle === f.lastCycle ? `${f.firstCycle}` : `${f.firstCycle}–${f.lastCycle} (${f.cycles})`, f.confirmed ? 'yes' : 'no', f.message]),
      ),
      '',
    );
  }
  out.push('## Migrations started', '');
  if (mon.migrations.length === 0) out.push('None.', '');
  else {
    out.push(
      ...table(
        ['workflow', 'at (UTC)', 'member', 'outcome', 'reason'],
        mon.migrations.map((c) => {
          const input = (c.input ?? {}) as { member?: unknown; reason?: unknown };
          const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
          return [`\`${c.workflowId}\`${c.runId ? ` run \`${c.runId}\`` : ''}`, clock(c.initiatedAt), text(input.member, '?'), `${c.outcome}${c.closedAt ? ` at ${clock(c.closedAt)}` : ''}`, text(input.reason, '')];
        }),
      ),
      '',
      'Each has its own report: `etcd-guardian report <workflow>`.',
      '',
    );
  }
  if (mon.healthChanges.length > 0) out.push('## Health', '', ...mon.healthChanges.map((h) => `- ${clock(h.at)} ${h.health}`), '');
  if (report.signals.length > 0) out.push('## Signals', '', ...report.signals.map((s) => `- ${clock(s.at)} \`${s.name}\`${s.identity ? ` from ${s.identity}` : ''}`), '');
  out.push('## Continue-as-new', '');
  out.push(
    mon.continuedAsNew
      ? `Continued as new at ${mon.continuedAsNew.at} as run \`${mon.continuedAsNew.newRunId}\`${mon.continuedAsNew.cyclesCarried !== undefined ? `, carrying ${mon.continuedAsNew.cyclesCarried} cycles and the hysteresis window` : ''}.`
      : `Did not continue as new (${statusWord(report)}).`,
    '',
  );
  if (report.failure) out.push('## Failure', '', failureText(report.failure), '');
  return out;
}

/** A recovery's plan, verdict and steps. */
function recoverySections(r: RecoveryReport): string[] {
  const out = ['## Recovery', '', `Cluster **${r.cluster}**: ${r.phase}.`, ''];
  if (r.from) {
    const restored = r.restored ? ` (revision ${r.restored.revision}, taken ${r.restored.takenAt}), restored into new member **${r.restored.into}**` : '';
    out.push(`- from: ${r.source === 'survivor' ? `survivor **${r.from}**, restarted with --force-new-cluster` : `backup **${r.from}**${restored}`}`);
  }
  if (r.dataLoss) out.push(`- data loss: ${r.dataLoss}`);
  for (const reason of r.reasons) out.push(`- ${reason}`);
  if (r.approval) out.push(`- approved by \`${r.approval.by}\` at ${r.approval.at}${r.approval.auto ? ' (recovery.autoApprove)' : ''}${r.approval.reason ? `: ${r.approval.reason}` : ''}`);
  if (r.rejection) out.push(`- rejected by \`${r.rejection.by}\` at ${r.rejection.at}${r.rejection.reason ? `: ${r.rejection.reason}` : ''}`);
  if (r.writable) out.push(`- writable again at ${r.writable.at} (revision ${r.writable.revision})`);
  if (r.added.length > 0) out.push(`- members added: ${r.added.join(', ')}`);
  if (r.error) out.push(`- failed: ${r.error}`);
  out.push('');
  if (r.steps.length > 0) {
    out.push('| step | started | ended | detail |', '| --- | --- | --- | --- |');
    for (const s of r.steps) out.push(`| ${s.step} | ${s.startedAt} | ${s.endedAt ?? 'not finished'} | ${s.detail ?? ''} |`);
    out.push('');
  }
  return out;
}

/** The report as Markdown. */
export function renderMarkdown(report: WorkflowReport): string {
  const out: string[] = [];
  if (report.migration) {
    const m = report.migration;
    out.push(...header(report, `Post-mortem: migration of ${m.member} in cluster ${m.cluster}`, m.summary));
    out.push(...migrationSections(report, m));
    out.push('## Timeline', '', 'Every moment from start to close, attributed: a step owns its time from scheduling to its end, retries included; the time between steps is the workflow\'s own.', '');
    out.push(...timelineRows(report, report.timeline), '', accountingLine(report, 'steps'), '');
    out.push(...afterTimelineMigration(report, m));
  } else if (report.monitor) {
    out.push(...header(report, `Report: monitor of cluster ${report.monitor.cluster}`, report.monitor.summary));
    out.push(...monitorSections(report, report.monitor));
    out.push('## Time', '', accountingLine(report, 'cycles'), '', 'The full timeline, activity by activity, is in `--json` (`timeline`).', '');
  } else {
    out.push(
      ...(report.recovery
        ? header(report, `Post-mortem: recovery of cluster ${report.recovery.cluster} from lost quorum`, `${report.recovery.phase}; ${report.recovery.steps.length} steps`)
        : header(report, `Report: ${report.workflowType} ${report.workflowId}`, `${report.activities.length} activities`)),
    );
    if (report.recovery) out.push(...recoverySections(report.recovery));
    if (report.approval) {
      const a = report.approval;
      out.push('## Approval', '', `Removal of dead member **${a.member}** approved by \`${a.approvedBy}\`${a.reason ? `. Reason given: **${a.reason}**` : ''}.`, '');
    }
    out.push('## Timeline', '', ...timelineRows(report, report.timeline), '', accountingLine(report, 'activities'), '');
  }
  if (report.workflowTaskFailures.length > 0) {
    out.push('## Workflow task failures', '', ...report.workflowTaskFailures.map((f) => `- ${clock(f.at)} ${f.message ?? 'no message'}`), '');
  }
  if (report.notes.length > 0) out.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return `${out.join('\n').trimEnd()}\n`;
}
