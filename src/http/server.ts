import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export interface Readiness {
  readonly ready: boolean;
  readonly status: 'ready' | 'degraded' | 'not-ready';
  readonly dependencies: Readonly<Record<string, { readonly ok: boolean; readonly detail: string }>>;
}

export interface HttpDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readiness(): Promise<Readiness>;
  /** Details /healthz adds (it answers 200 whatever they say: the process lives). */
  health?(): Promise<Record<string, unknown>>;
  /** Bolt's HTTP receiver, in HTTP mode only. */
  readonly slackListener?: RequestListener;
  /** More POST routes (webhooks). */
  readonly posts?: Readonly<Record<string, Handler>>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** The one HTTP server: health, readiness, metrics, and Slack events in HTTP mode. */
export function createHttpServer(deps: HttpDeps): Server {
  const routes = new Map<string, Map<string, Handler>>([
    [
      '/healthz',
      new Map([
        [
          'GET',
          async (_req, res) => {
            const details = await (deps.health?.() ?? Promise.resolve({})).catch((error: unknown) => ({
              detailsError: error instanceof Error ? error.message : String(error),
            }));
            sendJson(res, 200, { status: 'ok', ...details });
          },
        ],
      ]),
    ],
    [
      '/readyz',
      new Map([
        [
          'GET',
          async (_req, res) => {
            const readiness = await deps.readiness();
            sendJson(res, readiness.ready ? 200 : 503, readiness);
          },
        ],
      ]),
    ],
    [
      '/metrics',
      new Map([
        [
          'GET',
          async (_req, res) => {
            res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
            res.end(await deps.metrics.registry.metrics());
          },
        ],
      ]),
    ],
  ]);
  for (const [path, handler] of Object.entries(deps.posts ?? {}))
    routes.set(path, new Map([['POST', handler]]));
  if (deps.slackListener) {
    const listener = deps.slackListener;
    routes.set('/slack/events', new Map([['POST', (req, res) => listener(req, res)]]));
  }
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const methods = routes.get(path);
    const handler = methods?.get(req.method ?? 'GET');
    if (!methods) return sendJson(res, 404, { error: `no route ${path}` });
    if (!handler) {
      res.setHeader('allow', [...methods.keys()].join(', '));
      return sendJson(res, 405, {
        error: `${req.method} is not allowed on ${path}; use ${[...methods.keys()].join(', ')}`,
      });
    }
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      deps.log.error({ err: error, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
}
