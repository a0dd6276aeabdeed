import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type StatePaths } from './state-dir';
import { type SandboxInfo } from './types';

/** <state>/sandbox.json: whether a sandbox runs in the directory, and where everything is. */

/** The file's content. */
export interface StateFile {
  phase: 'running' | 'stopped';
  info: SandboxInfo;
  stoppedAt?: string;
}

/** Writes the file atomically (a reader never sees half of it). */
export function writeStateFile(paths: StatePaths, content: StateFile): void {
  const tmp = `${paths.stateFile}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(tmp, paths.stateFile);
}

/** Reads the file; undefined when there is none (or it is not ours). */
export function readStateFile(paths: StatePaths): StateFile | undefined {
  try {
    const content = JSON.parse(readFileSync(paths.stateFile, 'utf8')) as StateFile;
    return typeof content.phase === 'string' && typeof content.info === 'object' ? content : undefined;
  } catch {
    return undefined;
  }
}
