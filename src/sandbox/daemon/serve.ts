import { messageOf } from '../errors';
import { type SandboxOptions } from '../options';
import { Sandbox } from '../sandbox';
import { removePidFile } from '../pid-files';
import { statePaths } from '../state-dir';
import { servePidPath, type ServeMessage } from './messages';

/**
 * The body of `sandbox serve`, the background process `sandbox up` spawns: it owns the sandbox (the node simulator
 * lives here, and so do the pod processes' parents) until the control endpoint or a signal asks it to stop.
 */

function tell(message: ServeMessage): void {
  // The channel exists only while `up` waits; later, and when run by hand, there is nobody to tell.
  if (process.connected && process.send !== undefined) process.send(message);
}

/** Starts the sandbox, reports to `up`, and resolves once the sandbox has stopped. */
export async function serveSandbox(options: SandboxOptions): Promise<void> {
  let abandoned = false;
  // `up` went away (Ctrl-C) before the sandbox was ready: nobody will ever learn where it is, so stop it again.
  const onDisconnect = (): void => {
    abandoned = true;
  };
  process.once('disconnect', onDisconnect);
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.start({ ...options, onProgress: (message) => tell({ type: 'progress', message }) });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    tell({ type: 'failed', code: typeof code === 'string' ? code : 'START_FAILED', message: messageOf(error) });
    process.exitCode = 1;
    return;
  }
  process.off('disconnect', onDisconnect);
  const stop = (): void => void sandbox.stop();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, stop);
  if (abandoned) {
    await sandbox.stop();
    return;
  }
  tell({ type: 'ready', info: sandbox.info });
  if (process.connected) process.disconnect();
  await sandbox.stopped;
  removePidFile(servePidPath(statePaths(sandbox.info.stateDir)));
}
