import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The kubelet's limits on a message taken from the logs (FallbackToLogsOnError): 2048 bytes or 80 lines, the smaller. */
export const FALLBACK_MESSAGE_BYTES = 2048;
export const FALLBACK_MESSAGE_LINES = 80;

/** The last `maxLines` lines of `text`, a trailing newline not counting as a line. */
export function lastLines(text: string, maxLines: number): string {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-maxLines).join('\n');
}

/**
 * A container's termination message as the kubelet sets it under `terminationMessagePolicy: FallbackToLogsOnError`
 * when it exits with an error: the end of its log. Undefined when the log cannot be read or is empty.
 */
export function fallbackTerminationMessage(logPath: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(logPath, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, FALLBACK_MESSAGE_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const tail = lastLines(buffer.toString('utf8'), FALLBACK_MESSAGE_LINES);
    return tail.length > 0 ? tail : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
