import { setTimeout as sleep } from 'node:timers/promises';
import { resolve } from 'node:path';
import { isRecordedProcessAlive, readPidFile, readPidFiles, removePidFile, type PidFile, type PidRecord } from '../pid-files';
import { isRunning } from '../proc';
import { releaseSlotOf } from '../slot-lock';
import { readStateFile } from '../state-file';
import { statePaths } from '../state-dir';
import { servePidPath } from './messages';
import { findRunningSandbox } from './running';

/**
 * `sandbox down`: ask the sandbox to stop through its control endpoint, then make sure: every process recorded in a
 * pid file that still runs gets SIGTERM, then SIGKILL after a deadline (by process group, so nothing it forked
 * survives). Works when the owning process died and left its children behind.
 */

/** Time the sandbox gets to stop itself before `down` kills what is left. */
const ORDERLY_STOP_MS = 40_000;
/** Time between SIGTERM and SIGKILL for leftovers. */
const LEFTOVER_GRACE_MS = 5_000;

/** What `down` did. */
export interface ShutdownReport {
  /** A sandbox answered and stopped itself. */
  stoppedOrderly: boolean;
  /** Leftover processes that had to be signalled, as "name (pid)". */
  killed: string[];
}

function signal(record: PidRecord, sig: NodeJS.Signals): void {
  try {
    process.kill(record.group ? -record.pid : record.pid, sig);
  } catch {
    // Gone already.
  }
}

async function stopLeftovers(files: readonly PidFile[]): Promise<string[]> {
  const alive = files.filter((file) => isRecordedProcessAlive(file.record));
  for (const file of alive) {
    signal(file.record, 'SIGTERM');
    // A frozen (SIGSTOPped) pod only acts on SIGTERM once it runs again.
    signal(file.record, 'SIGCONT');
  }
  const deadline = Date.now() + LEFTOVER_GRACE_MS;
  while (Date.now() < deadline && alive.some((file) => isRecordedProcessAlive(file.record))) await sleep(100);
  for (const file of alive) if (isRecordedProcessAlive(file.record)) signal(file.record, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (Date.now() < killDeadline && alive.some((file) => isRecordedProcessAlive(file.record))) await sleep(100);
  for (const file of files) if (!isRecordedProcessAlive(file.record)) removePidFile(file.path);
  return alive.map((file) => `${file.record.name} (${file.record.pid})`);
}

/** Stops the sandbox of a state directory and everything it started. */
export async function shutdownSandbox(stateDir: string): Promise<ShutdownReport> {
  const paths = statePaths(resolve(stateDir));
  const state = readStateFile(paths);
  let stoppedOrderly = false;
  const running = await findRunningSandbox(paths);
  if (running !== undefined) {
    await running.client.shutdown();
    const deadline = Date.now() + ORDERLY_STOP_MS;
    while (Date.now() < deadline) {
      if (readStateFile(paths)?.phase === 'stopped' || !isRunning(running.info.pid)) {
        stoppedOrderly = true;
        break;
      }
      await sleep(200);
    }
    // The serve process writes 'stopped' and removes its pid file before it exits: wait for the exit itself, or
    // `down` could return (and its caller find the process) while it still runs.
    while (Date.now() < deadline && isRunning(running.info.pid)) await sleep(100);
  }
  const serve = readPidFile(servePidPath(paths));
  const files = readPidFiles(paths.run);
  if (serve !== undefined) files.push({ path: servePidPath(paths), record: serve });
  const killed = await stopLeftovers(files);
  if (state !== undefined) releaseSlotOf(state.info.slot, state.info.pid);
  return { stoppedOrderly, killed };
}
