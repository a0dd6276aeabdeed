import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { messageOf } from './errors';
import { type Logger } from './logger';
import { CONTROL_PLANE_HOST } from './ports';
import { type FaultRequest, type SandboxInfo, type SandboxStatus } from './types';

/**
 * The sandbox's control endpoint: a small JSON API on loopback that `sandbox status`, `fault`, `heal` and `down`
 * call, since the node simulator lives in the process that owns the sandbox. A bearer token from the state
 * directory (mode 0600) keeps other local users out.
 */

/** What the endpoint does, supplied by the sandbox. */
export interface ControlHandlers {
  info(): SandboxInfo;
  status(): Promise<SandboxStatus>;
  fault(request: FaultRequest): Promise<string>;
  heal(target: string): Promise<string[]>;
  /** Starts stopping the sandbox; the response is sent first. */
  shutdown(): void;
}

/** The body of an error response. */
export interface ControlErrorBody {
  error: { code: string; message: string };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** The running endpoint. */
export class ControlServer {
  private constructor(private readonly server: Server) {}

  /** Listens on 127.0.0.1:`port`. */
  static async start(params: { port: number; token: string; handlers: ControlHandlers; logger: Logger }): Promise<ControlServer> {
    const { handlers, token, logger } = params;
    const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      if (req.headers.authorization !== `Bearer ${token}`) {
        reply(res, 401, { error: { code: 'UNAUTHORIZED', message: 'missing or wrong control token' } });
        return;
      }
      const path = new URL(req.url ?? '/', 'http://control.local').pathname;
      const key = `${req.method ?? 'GET'} ${path}`;
      switch (key) {
        case 'GET /v1/info':
          reply(res, 200, handlers.info());
          return;
        case 'GET /v1/status':
          reply(res, 200, await handlers.status());
          return;
        case 'POST /v1/faults': {
          const body = await readJson(req);
          const request = { ...body, kind: String(body['kind']), target: String(body['target']) } as FaultRequest;
          reply(res, 200, { message: await handlers.fault(request) });
          return;
        }
        case 'POST /v1/heal': {
          const body = await readJson(req);
          reply(res, 200, { healed: await handlers.heal(String(body['target'])) });
          return;
        }
        case 'POST /v1/shutdown':
          reply(res, 202, { message: 'stopping' });
          res.once('finish', () => handlers.shutdown());
          return;
        default:
          reply(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${key}` } });
      }
    };
    const server = createServer((req, res) => {
      route(req, res).catch((error: unknown) => {
        const code = errorCode(error);
        if (code !== 'INVALID_ARGUMENT') logger.warn({ err: messageOf(error), url: req.url }, 'control request failed');
        const body: ControlErrorBody = { error: { code, message: messageOf(error) } };
        if (!res.headersSent) reply(res, code === 'INVALID_ARGUMENT' ? 400 : 500, body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(params.port, CONTROL_PLANE_HOST, () => resolve());
    });
    return new ControlServer(server);
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
