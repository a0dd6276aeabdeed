import { type Logger } from './logger';
import { type PortLayout } from './ports';
import { type StatePaths } from './state-dir';

/** What every part of a running sandbox needs to know about it. */
export interface SandboxContext {
  paths: StatePaths;
  ports: PortLayout;
  slot: number;
  logger: Logger;
}
