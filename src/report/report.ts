/**
 * The post-mortem report of a migration or a monitor run, built from its Temporal workflow history: `loadReport`
 * fetches and builds, `buildReport` is the pure part (history in, report out), `renderMarkdown` prints it.
 */
export { loadReport, ReportArgumentError, ReportWorkflowNotFoundError } from './load';
export { buildReport, type ReportContext } from './build';
export { formatDuration, renderMarkdown } from './markdown';
export { UnreadableHistoryError } from './history';
export { WORKFLOW_LABEL } from './timeline';
export type {
  ActivityReport,
  CycleReport,
  FinalMember,
  MigrationReport,
  MonitorReport,
  TimeAccounting,
  TimelineSegment,
  WorkflowReport,
} from './types';
