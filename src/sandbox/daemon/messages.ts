import { join } from 'node:path';
import { type StatePaths } from '../state-dir';
import { type SandboxInfo } from '../types';

/** Messages the background `sandbox serve` process sends to `sandbox up` over the IPC channel while it starts. */
export type ServeMessage =
  | { type: 'progress'; message: string }
  | { type: 'ready'; info: SandboxInfo }
  | { type: 'failed'; code: string; message: string };

/** The file next to the state that holds the background process's pid (outside what a new sandbox wipes). */
export const SERVE_PID_FILE = 'serve';

/** The path of that file. */
export function servePidPath(paths: StatePaths): string {
  return join(paths.root, `${SERVE_PID_FILE}.pid`);
}
