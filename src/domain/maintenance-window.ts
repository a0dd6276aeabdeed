/**
 * When the guardian may start maintenance of its own accord. A defragmentation for fragmentation waits for a window;
 * a NOSPACE recovery never waits (the cluster refuses writes until it is done). Times are UTC.
 */

/** Days of the week as the config writes them. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** One day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

/** A recurring window: from `start` to `end` (`HH:MM`, UTC) on `days` (every day when absent); `end` before `start` runs past midnight. */
export interface MaintenanceWindow {
  days?: readonly Weekday[];
  start: string;
  end: string;
}

/** The maintenance knobs of one cluster (`clusters[].maintenance`). */
export interface MaintenancePolicy {
  /** The monitor starts maintenance when a space finding is confirmed; off: it only reports. */
  auto: boolean;
  /** Windows for defragmentation the monitor starts; empty: any time. */
  windows: readonly MaintenanceWindow[];
  /** Quiet time after each member's defragmentation before the next one, in milliseconds. */
  pauseBetweenMembersMs: number;
}

/** Defaults: automatic, any time, 5 s between members. */
export const DEFAULT_MAINTENANCE_POLICY: MaintenancePolicy = { auto: true, windows: [], pauseBetweenMembersMs: 5_000 };

/** Minutes after midnight of an `HH:MM` time, or undefined when it is not one. */
export function minutesOf(time: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  if (!match) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}

const DAY_MINUTES = 24 * 60;

/** True when `now` falls in `window`. A window past midnight belongs to the day it starts on. */
function inWindow(window: MaintenanceWindow, now: Date): boolean {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === undefined || end === undefined) return false;
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const today = WEEKDAYS[now.getUTCDay()] as Weekday;
  const yesterday = WEEKDAYS[(now.getUTCDay() + 6) % 7] as Weekday;
  const onDay = (day: Weekday): boolean => window.days === undefined || window.days.length === 0 || window.days.includes(day);
  if (start === end) return onDay(today); // the whole day
  if (start < end) return onDay(today) && minute >= start && minute < end;
  // Past midnight: the evening part today, or the morning part of a window that started yesterday.
  return (onDay(today) && minute >= start) || (onDay(yesterday) && minute < end);
}

/** True when maintenance may start at `now`: no windows configured, or `now` in one of them. */
export function inMaintenanceWindow(windows: readonly MaintenanceWindow[], now: Date): boolean {
  return windows.length === 0 || windows.some((w) => inWindow(w, now));
}

/** The next minute at which a window opens, within a week; undefined when none ever does. */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], now: Date): Date | undefined {
  if (windows.length === 0) return now;
  const first = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  for (let minute = 0; minute <= 7 * DAY_MINUTES; minute++) {
    const at = new Date(first.getTime() + minute * 60_000);
    if (inMaintenanceWindow(windows, at)) return at;
  }
  return undefined;
}

/** `sat,sun 02:00-04:00 UTC`: a window as an operator wrote it. */
export function describeWindow(window: MaintenanceWindow): string {
  const days = window.days && window.days.length > 0 ? `${window.days.join(',')} ` : 'daily ';
  return `${days}${window.start}-${window.end} UTC`;
}
