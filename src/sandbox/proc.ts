import { readFileSync } from 'node:fs';

/**
 * What Linux's /proc says about a process. Pid files record a process's start time next to its pid, so that a stale
 * pid file never makes `down` signal an unrelated process that reused the pid.
 */

/** The fields of /proc/<pid>/stat the sandbox uses. */
export interface ProcStat {
  /** R, S, D, T (stopped), Z (zombie), ... */
  state: string;
  /** CPU time in user and kernel mode, in clock ticks. */
  cpuTicks: number;
  /** Start time since boot in clock ticks: with the pid, it names one process for good. */
  startTime: string;
}

/** /proc/<pid>/stat, or undefined when the process does not exist. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields after the name, 0-based: state is field 3 of the file, utime 14, stime 15, starttime 22.
  const state = fields[0] ?? '?';
  const cpuTicks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { state, cpuTicks, startTime: fields[19] ?? '' };
}

/** True when the process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** The process's command line, arguments joined by spaces; empty when it is gone. */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Resident memory in bytes (VmRSS), or undefined when the process is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks (100 on every mainstream architecture). */
export const CLOCK_TICKS_PER_SECOND = 100;
