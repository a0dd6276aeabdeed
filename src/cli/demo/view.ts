import type { MigrationProgress, StepRecord } from '../../../workflows/migrate';
import type { Health, MonitorStatus } from '../../../workflows/monitor';

/**
 * What the demo shows, as pure functions of what the monitor's `status` query and the migration's `progress` query
 * answer: a snapshot, the lines that say what changed between two snapshots (the plain output, one line per change),
 * and the panel a terminal redraws in place.
 */

/** One member row. */
export interface MemberRow {
  name: string;
  node?: string;
  rack?: string;
  domain?: string;
  healthy: boolean;
  leader: boolean;
  learner: boolean;
}

/** One finding row; `key` identifies the same finding from one cycle to the next. */
export interface FindingRow {
  key: string;
  severity: string;
  kind: string;
  subject: string;
  message: string;
  samples: number;
  confirmed: boolean;
}

/** The migration the demo follows. */
export interface MigrationView {
  workflowId: string;
  runId?: string;
  /** The workflow's status once it has closed: completed, failed, canceled, terminated, timed_out. */
  closed?: string;
  progress: MigrationProgress;
}

/** The cluster as the demo last saw it. */
export interface DemoSnapshot {
  cluster: string;
  health?: Health;
  cycles?: number;
  quorum?: { healthyVoters: number; voters: number; faultTolerance: number };
  leader?: string;
  members: MemberRow[];
  findings: FindingRow[];
  decision?: { kind: string; summary: string };
  migration?: MigrationView;
  /** Why the monitor did not answer, when it did not. */
  problem?: string;
}

/** A snapshot from the monitor's status answer (absent before the first answer) and the migration, if any. */
export function snapshotOf(cluster: string, status: MonitorStatus | undefined, migration?: MigrationView, problem?: string): DemoSnapshot {
  const snapshot: DemoSnapshot = { cluster, members: [], findings: [] };
  if (status) {
    snapshot.health = status.health;
    snapshot.cycles = status.cycles;
    const q = status.assessment?.quorum;
    if (q) snapshot.quorum = { healthyVoters: q.healthyVoters, voters: q.voters, faultTolerance: q.faultTolerance };
    const leader = status.assessment?.leader?.name ?? status.members.find((m) => m.isLeader)?.name;
    if (leader !== undefined) snapshot.leader = leader;
    snapshot.members = status.members.map((m) => {
      const row: MemberRow = { name: m.name, healthy: m.healthy, leader: m.isLeader, learner: m.isLearner };
      if (m.node !== undefined) row.node = m.node;
      if (m.rack !== undefined) row.rack = m.rack;
      if (m.domain !== undefined) row.domain = m.domain;
      return row;
    });
    snapshot.findings = (status.assessment?.findings ?? []).map((f) => {
      const subject = f.member ?? f.node ?? f.pod ?? 'cluster';
      return { key: `${f.kind}:${subject}`, severity: f.severity, kind: f.kind, subject, message: f.message, samples: f.samples, confirmed: f.confirmed };
    });
    if (status.decision) snapshot.decision = { kind: status.decision.kind, summary: status.decision.summary };
  }
  if (migration) snapshot.migration = migration;
  if (problem !== undefined) snapshot.problem = problem;
  return snapshot;
}

/** Milliseconds as m:ss, for the clock of the demo. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

/** Milliseconds as seconds with one decimal. */
export function formatSeconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

const STEP_MARK: Record<StepRecord['status'], string> = { pending: '·', running: '…', done: '✔', failed: '✖', compensated: '↺', skipped: '-' };

function where(m: MemberRow): string {
  const place = [m.rack, m.domain].filter((x) => x !== undefined).join(', ');
  return `${m.node ?? '?'}${place === '' ? '' : ` (${place})`}`;
}

function memberHealth(m: MemberRow): string {
  return `${m.healthy ? 'healthy' : 'DOWN'}${m.learner ? ', learner' : ''}${m.leader ? ', leader' : ''}`;
}

function findingText(f: FindingRow): string {
  return `${f.severity} ${f.kind} ${f.subject}: ${f.message}`;
}

function pendingText(f: FindingRow): string {
  return f.confirmed ? `confirmed after ${f.samples} sample${f.samples === 1 ? '' : 's'}` : `pending, ${f.samples} sample${f.samples === 1 ? '' : 's'}`;
}

function quorumText(s: DemoSnapshot): string {
  return s.quorum ? `${s.quorum.healthyVoters}/${s.quorum.voters} healthy voters, fault tolerance ${s.quorum.faultTolerance}` : 'quorum unknown';
}

/** A step as one line: mark, name, duration (the running one's so far, from `now`), and its detail. */
export function stepLine(step: StepRecord, now: number, nameWidth = 0): string {
  const started = step.startedAt ? Date.parse(step.startedAt) : undefined;
  const duration = step.durationMs ?? (step.status === 'running' && started !== undefined ? now - started : undefined);
  const timing = duration === undefined ? '' : formatSeconds(duration);
  const detail = step.detail ? `  ${step.detail}` : '';
  return `${STEP_MARK[step.status]} ${step.step.padEnd(nameWidth)}  ${timing.padStart(7)}${step.status === 'running' ? ' (running)' : ''}${detail}`;
}

/** A step that has ended, as one sentence for the plain output. */
export function stepSentence(step: StepRecord): string {
  const timing = step.durationMs === undefined ? '' : ` (${formatSeconds(step.durationMs)})`;
  return `${STEP_MARK[step.status]} ${step.step}${timing}${step.detail ? `: ${step.detail}` : ''}`;
}

function migrationHeadline(m: MigrationView): string {
  const p = m.progress;
  const route = p.from !== undefined || p.to !== undefined ? ` from ${p.from ?? '?'} to ${p.to ?? '?'}` : '';
  return `${p.strategy ?? 'migration'} ${p.member}${route}`;
}

function stepChanges(prev: readonly StepRecord[], next: readonly StepRecord[]): string[] {
  const lines: string[] = [];
  next.forEach((step, i) => {
    const before = prev[i];
    const sameStep = before !== undefined && before.step === step.step;
    if (sameStep && before.status === step.status) return;
    // A step that ran and ended between two looks is shown once, ended.
    lines.push(step.status === 'running' ? `… ${step.step} started` : stepSentence(step));
  });
  return lines;
}

function migrationChanges(prev: MigrationView | undefined, next: MigrationView | undefined): string[] {
  if (!next) return [];
  const fresh = !prev || prev.workflowId !== next.workflowId || (prev.runId !== undefined && next.runId !== undefined && prev.runId !== next.runId);
  const before = fresh ? undefined : prev;
  const lines: string[] = [];
  if (!before) lines.push(`migration ${next.workflowId} started for ${next.progress.member}`);
  const hadRoute = before?.progress.strategy !== undefined && before.progress.to !== undefined;
  if (!hadRoute && next.progress.strategy !== undefined && next.progress.to !== undefined) lines.push(`migration plan: ${migrationHeadline(next)}`);
  lines.push(...stepChanges(before?.progress.steps ?? [], next.progress.steps));
  if (before?.progress.phase !== next.progress.phase) {
    if (next.progress.phase === 'compensating') lines.push('migration compensating: undoing the steps done so far, in reverse');
    if (next.progress.phase === 'succeeded') lines.push(`migration succeeded: ${migrationHeadline(next)}`);
    if (next.progress.phase === 'failed') lines.push(`migration failed: ${next.progress.steps.find((s) => s.status === 'failed')?.detail ?? 'see the report'}`);
  }
  if (next.closed !== undefined && before?.closed !== next.closed && next.closed !== 'completed' && next.progress.phase !== 'failed') {
    lines.push(`migration ${next.closed}`);
  }
  return lines;
}

/** The lines that say what changed from `prev` to `next` (everything worth saying, for the first snapshot). */
export function changes(prev: DemoSnapshot | undefined, next: DemoSnapshot): string[] {
  const lines: string[] = [];
  if (next.problem !== undefined && prev?.problem !== next.problem) lines.push(`monitor: ${next.problem}`);
  if (next.health !== undefined && prev?.health !== next.health) {
    lines.push(`cluster ${next.cluster}: ${prev?.health !== undefined ? `${prev.health} → ` : ''}${next.health} (${quorumText(next)})`);
  }
  const before = new Map((prev?.members ?? []).map((m) => [m.name, m]));
  if (before.size === 0 && next.members.length > 0) {
    lines.push(`members: ${next.members.map((m) => `${m.name} on ${where(m)} ${memberHealth(m)}`).join('; ')}`);
  } else {
    for (const m of next.members) {
      const was = before.get(m.name);
      if (!was) lines.push(`member ${m.name} joined on ${where(m)}: ${memberHealth(m)}`);
      else if (was.healthy !== m.healthy) lines.push(`member ${m.name} on ${m.node ?? '?'}: ${was.healthy ? 'healthy' : 'DOWN'} → ${m.healthy ? 'healthy' : 'DOWN'}`);
      else if (was.learner && !m.learner) lines.push(`member ${m.name} is a voter now`);
    }
    const present = new Set(next.members.map((m) => m.name));
    for (const m of prev?.members ?? []) if (!present.has(m.name) && next.members.length > 0) lines.push(`member ${m.name} left (was on ${m.node ?? '?'})`);
    if (prev?.members.length && next.members.length > 0 && prev.leader !== next.leader) lines.push(`leader: ${prev.leader ?? 'none'} → ${next.leader ?? 'none'}`);
  }
  const found = new Map((prev?.findings ?? []).map((f) => [f.key, f]));
  for (const f of next.findings) {
    const was = found.get(f.key);
    if (!was) lines.push(`finding: ${findingText(f)} (${pendingText(f)})`);
    else if (!was.confirmed && f.confirmed) lines.push(`finding ${pendingText(f)}: ${f.severity} ${f.kind} ${f.subject}`);
  }
  // Findings vanish with the member or node they were about; only a status answer (not a missing one) clears them.
  if (next.health !== undefined) {
    const still = new Set(next.findings.map((f) => f.key));
    for (const f of prev?.findings ?? []) if (!still.has(f.key)) lines.push(`finding cleared: ${f.kind} ${f.subject}`);
  }
  if (next.decision && next.decision.kind !== 'none' && (prev?.decision?.kind !== next.decision.kind || prev.decision.summary !== next.decision.summary)) {
    lines.push(`decision: ${next.decision.summary}`);
  }
  lines.push(...migrationChanges(prev?.migration, next.migration));
  return lines;
}

/** What the panel shows besides the snapshot. */
export interface PanelContext {
  title: string;
  /** What the demo is doing now. */
  activity: string;
  /** Time since the demo started. */
  elapsedMs: number;
  now: number;
  /** The latest event lines, oldest first. */
  recent: readonly string[];
  width: number;
  /** The most lines the panel may take (the terminal's height less one). */
  height: number;
}

function fit(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** The panel a terminal redraws: members, findings, the migration's steps with their durations, and recent events. */
export function renderPanel(snapshot: DemoSnapshot | undefined, context: PanelContext): string[] {
  // Before the cluster exists there is only what the demo is doing.
  const lines = [`${context.title} · ${formatClock(context.elapsedMs)}`, ...(snapshot ? snapshotLines(snapshot, context.now) : [])];
  lines.push('', `▸ ${context.activity}`);
  const room = context.height - lines.length - 2;
  if (room > 0 && context.recent.length > 0) lines.push('', 'recent:', ...context.recent.slice(-room).map((r) => `  ${r}`));
  return lines.slice(0, Math.max(1, context.height)).map((line) => fit(line, context.width));
}

function snapshotLines(snapshot: DemoSnapshot, now: number): string[] {
  const lines =
    snapshot.health === undefined
      ? [`cluster ${snapshot.cluster}: no answer from the monitor yet`]
      : [`cluster ${snapshot.cluster}: ${snapshot.health.toUpperCase()} · ${quorumText(snapshot)} · leader ${snapshot.leader ?? 'none'} · cycle ${snapshot.cycles ?? 0}`];
  if (snapshot.problem !== undefined) lines.push(`monitor: ${snapshot.problem}`);
  if (snapshot.members.length > 0) {
    const rows = snapshot.members.map((m) => [m.name, m.node ?? '?', m.rack ?? '?', m.domain ?? '?', m.healthy ? 'healthy' : 'DOWN', [m.learner ? 'learner' : '', m.leader ? 'leader' : ''].filter(Boolean).join(', ')]);
    lines.push('', ...table([['MEMBER', 'NODE', 'RACK', 'ZONE', 'HEALTH', ''], ...rows]).map((row) => `  ${row}`));
  }
  const serious = snapshot.findings.filter((f) => f.severity !== 'info');
  lines.push('', serious.length === 0 ? 'findings: none' : 'findings:');
  for (const f of serious) lines.push(`  ${f.severity === 'critical' ? '✖' : '!'} ${findingText(f)} (${pendingText(f)})`);
  if (snapshot.decision && snapshot.decision.kind !== 'none') lines.push(`decision: ${snapshot.decision.summary}`);
  const m = snapshot.migration;
  if (m) {
    const state = m.closed !== undefined && m.closed !== 'completed' ? m.closed : m.progress.phase;
    lines.push('', `migration ${m.workflowId}: ${migrationHeadline(m)} · ${state}`);
    const width = Math.max(0, ...m.progress.steps.map((s) => s.step.length));
    for (const step of m.progress.steps) lines.push(`  ${stepLine(step, now, width)}`);
  }
  return lines;
}

/** The most telling finding (confirmed first, then critical) about any of `subjects`, ignoring info findings. */
export function findingAbout(snapshot: DemoSnapshot, subjects: readonly string[]): FindingRow | undefined {
  const rank = (f: FindingRow): number => (f.confirmed ? 2 : 0) + (f.severity === 'critical' ? 1 : 0);
  return snapshot.findings.filter((f) => f.severity !== 'info' && subjects.includes(f.subject)).sort((a, b) => rank(b) - rank(a))[0];
}

/** When the guardian noticed the fault, confirmed it and started moving the member, as seen by the demo. */
export interface Detection {
  faultAt: number;
  subjects: readonly string[];
  noticed?: { at: number; finding: FindingRow };
  confirmed?: { at: number; finding?: FindingRow };
  migrationStartedAt?: number;
}

/** The detection after one more snapshot taken at `now`: each moment is recorded once, the first time it shows. */
export function observeDetection(detection: Detection, snapshot: DemoSnapshot, now: number): Detection {
  const next: Detection = { ...detection };
  const finding = findingAbout(snapshot, detection.subjects);
  if (!next.noticed && finding) next.noticed = { at: now, finding };
  // A migration that has started proves the confirmation even if the confirmed sample fell between two looks.
  if (!next.confirmed && (finding?.confirmed === true || snapshot.migration)) next.confirmed = { at: now, ...(finding ? { finding } : {}) };
  if (next.migrationStartedAt === undefined && snapshot.migration) {
    const first = snapshot.migration.progress.steps[0]?.startedAt;
    next.migrationStartedAt = first === undefined ? now : Math.min(now, Date.parse(first));
  }
  return next;
}
