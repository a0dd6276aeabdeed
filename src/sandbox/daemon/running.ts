import { ControlClient } from '../control-client';
import { isRunning } from '../proc';
import { readStateFile } from '../state-file';
import { type StatePaths } from '../state-dir';
import { type SandboxInfo } from '../types';

/** A sandbox that runs and answers on its control endpoint. */
export interface RunningSandbox {
  info: SandboxInfo;
  client: ControlClient;
}

/** The sandbox running in a state directory, if one runs and answers. */
export async function findRunningSandbox(paths: StatePaths): Promise<RunningSandbox | undefined> {
  const state = readStateFile(paths);
  if (state?.phase !== 'running' || state.info.controlUrl === undefined || !isRunning(state.info.pid)) return undefined;
  try {
    const client = new ControlClient(state.info.controlUrl, paths);
    const info = await client.info(3_000);
    return { info, client };
  } catch {
    return undefined;
  }
}
