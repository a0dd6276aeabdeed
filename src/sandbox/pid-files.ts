import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning, readProcStat } from './proc';

/**
 * Pid files of every process a sandbox starts, under <state>/run. `sandbox down` reads them to stop whatever is left
 * even when the process that owned the sandbox died without cleaning up.
 */

/** One pid file's content. */
export interface PidRecord {
  /** What the process is: "kube-apiserver", "pod etcd/etcd-0", ... */
  name: string;
  pid: number;
  /** /proc start time, to tell this process from a later one with the same pid. */
  startTime: string;
  /** The process leads its own process group (it was spawned detached), so the group can be signalled. */
  group: boolean;
}

/** A pid file found on disk. */
export interface PidFile {
  path: string;
  record: PidRecord;
}

/** Writes `<dir>/<file>.pid` for a live process and returns its path. */
export function writePidFile(dir: string, file: string, name: string, pid: number, group: boolean): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file}.pid`);
  const record: PidRecord = { name, pid, startTime: readProcStat(pid)?.startTime ?? '', group };
  writeFileSync(path, `${JSON.stringify(record)}\n`);
  return path;
}

/** Removes a pid file; a missing file is fine. */
export function removePidFile(path: string): void {
  rmSync(path, { force: true });
}

/** One pid file's record; undefined when it is missing, half-written or foreign. */
export function readPidFile(path: string): PidRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as PidRecord;
    return Number.isInteger(record.pid) && record.pid > 1 ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Every pid file under a directory, recursively. */
export function readPidFiles(dir: string): PidFile[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return entries
    .filter((name) => name.endsWith('.pid'))
    .flatMap((name) => {
      const path = join(dir, name);
      const record = readPidFile(path);
      return record === undefined ? [] : [{ path, record }];
    });
}

/** True when the recorded process still runs and is the same process (same start time). */
export function isRecordedProcessAlive(record: PidRecord): boolean {
  if (!isRunning(record.pid)) return false;
  return record.startTime === '' || readProcStat(record.pid)?.startTime === record.startTime;
}
