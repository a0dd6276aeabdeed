import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxArgumentError } from './errors';
import { httpCall } from './http';
import { type StatePaths } from './state-dir';
import { type ControlErrorBody } from './control-server';
import { type FaultRequest, type SandboxInfo, type SandboxStatus } from './types';

/** The CLI's side of the control endpoint. */

/** Where the control token lives. */
export function controlTokenPath(paths: StatePaths): string {
  return join(paths.run, 'control.token');
}

/** Error of a control call the sandbox refused or failed. */
export class ControlCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlCallError';
  }
}

/** Calls a running sandbox's control endpoint. */
export class ControlClient {
  private readonly token: string;

  constructor(
    private readonly url: string,
    paths: StatePaths,
  ) {
    this.token = readFileSync(controlTokenPath(paths), 'utf8').trim();
  }

  /** Where everything is. */
  info(timeoutMs = 5_000): Promise<SandboxInfo> {
    return this.call<SandboxInfo>('GET', '/v1/info', undefined, timeoutMs);
  }

  /** Nodes and members as the APIs report them now. */
  status(): Promise<SandboxStatus> {
    return this.call<SandboxStatus>('GET', '/v1/status', undefined, 30_000);
  }

  /** Injects a fault; resolves with the sandbox's sentence about it. */
  async fault(request: FaultRequest): Promise<string> {
    return (await this.call<{ message: string }>('POST', '/v1/faults', request, 30_000)).message;
  }

  /** Heals a node or pod; resolves with the faults removed. */
  async heal(target: string): Promise<string[]> {
    return (await this.call<{ healed: string[] }>('POST', '/v1/heal', { target }, 60_000)).healed;
  }

  /** Asks the sandbox to stop. */
  async shutdown(): Promise<void> {
    await this.call<unknown>('POST', '/v1/shutdown', {}, 5_000);
  }

  private async call<T>(method: string, path: string, body: unknown, timeoutMs: number): Promise<T> {
    const res = await httpCall({ url: `${this.url}${path}`, method, body, token: this.token, timeoutMs });
    const parsed: unknown = res.text === '' ? {} : JSON.parse(res.text);
    if (res.status >= 200 && res.status < 300) return parsed as T;
    const error = (parsed as Partial<ControlErrorBody>).error;
    // Argument errors keep their class, so the CLI answers them with exit code 2.
    if (error?.code === 'INVALID_ARGUMENT') throw new SandboxArgumentError(error.message);
    throw new ControlCallError(error?.code ?? `HTTP_${res.status}`, error?.message ?? `${method} ${path} answered ${res.status}`);
  }
}
