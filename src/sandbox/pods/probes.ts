import { type V1ContainerPort, type V1Probe } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

/**
 * Readiness checks of a pod's process, as the kubelet runs them: httpGet (2xx and 3xx succeed), tcpSocket, or exec
 * (exit code 0 succeeds). A container without a readiness probe is checked by a TCP connection to its first port, so
 * that "Ready" means the process serves, not merely that it was spawned.
 */

/** Where a probe goes. */
export interface ProbeTarget {
  podIP: string;
  ports: readonly V1ContainerPort[];
  /** Runs an exec probe's command in the container's context; true when it exits 0 within the timeout. */
  exec?: (command: readonly string[], timeoutMs: number) => Promise<boolean>;
}

/** How an exec probe's process runs. */
export interface ExecProbeProcess {
  executable: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
}

/** Runs an exec probe's process; true when it exits 0 before the timeout (after which it is killed, as the kubelet does). */
export function runExecProbe(spec: ExecProbeProcess): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(spec.executable, [...spec.args], { env: spec.env, cwd: spec.cwd, timeout: spec.timeoutMs, killSignal: 'SIGKILL', windowsHide: true }, (error) => {
      resolve(error === null);
    });
  });
}

/** The probe's timing, with the API's defaults. */
export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** The timing of a probe (the API's defaults: period 10 s, timeout 1 s, thresholds 1 and 3). */
export function probeTiming(probe: V1Probe | undefined): ProbeTiming {
  return {
    initialDelayMs: (probe?.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, probe?.periodSeconds ?? (probe === undefined ? 1 : 10)) * 1000,
    timeoutMs: Math.max(1, probe?.timeoutSeconds ?? 1) * 1000,
    successThreshold: Math.max(1, probe?.successThreshold ?? 1),
    failureThreshold: Math.max(1, probe?.failureThreshold ?? (probe === undefined ? 1 : 3)),
  };
}

function resolvePort(port: number | string, ports: readonly V1ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

function httpProbe(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    // The kubelet does not verify a probe's certificate either.
    const req = send(url, { method: 'GET', headers, timeout: timeoutMs, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Runs a readiness check once; true when it passes. */
export async function probeOnce(probe: V1Probe | undefined, target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (probe?.httpGet !== undefined) {
    const port = resolvePort(probe.httpGet.port, target.ports);
    if (port === undefined) return false;
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    const host = probe.httpGet.host ?? target.podIP;
    const url = new URL(`${scheme}://${host}:${port}${probe.httpGet.path ?? '/'}`);
    const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return httpProbe(url, headers, timeoutMs);
  }
  if (probe?.tcpSocket !== undefined) {
    const port = resolvePort(probe.tcpSocket.port, target.ports);
    return port === undefined ? false : tcpProbe(probe.tcpSocket.host ?? target.podIP, port, timeoutMs);
  }
  if (probe?.exec !== undefined && target.exec !== undefined) return target.exec(probe.exec.command ?? [], timeoutMs);
  // No probe, or a kind the simulator does not run (grpc): a TCP check on the first declared port.
  const first = target.ports[0]?.containerPort;
  return first === undefined ? true : tcpProbe(target.podIP, first, timeoutMs);
}
