import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { alertContext, genericContext, MAX_ALERTS_PER_SIGNAL } from '../alerts/context.js';
import { describeAlert, matchCluster } from '../alerts/match.js';
import {
  type Alert,
  AlertmanagerPayload,
  GenericPayload,
  GrafanaPayload,
  type Signal,
} from '../alerts/payloads.js';
import type { ClusterConfig } from '../config.js';
import { within } from '../core/pool.js';
import { sendJson } from './server.js';

export const MAX_WEBHOOK_BYTES = 1024 * 1024;
/** How far a signed Grafana timestamp may be from now, either way. */
export const GRAFANA_MAX_SKEW_MS = 5 * 60_000;
/**
 * How long one request waits for the queue Redis (known nodes and queueing together): one that holds the
 * connection without answering (frozen, or saving while it shuts down) fails no command on its own.
 */
export const WEBHOOK_QUEUE_DEADLINE_MS = 3000;
/** Retry-After of every 503: the queue connection tries to reconnect at least this often. */
export const WEBHOOK_RETRY_AFTER_S = 5;

export interface WebhookDeps {
  readonly token: string | null;
  readonly grafanaSecret: string | null;
  /**
   * 'required' (the default): a signature must come with X-Grafana-Alert-Timestamp, so that a captured request
   * cannot be replayed after GRAFANA_MAX_SKEW_MS. 'optional' also takes a signature of the body alone.
   */
  readonly grafanaTimestamp?: 'required' | 'optional';
  readonly clusters: readonly ClusterConfig[];
  readonly clusterLabel: string;
  /** Node addresses recently probed, per cluster; throws when they cannot be read. */
  knownNodes(cluster: string): Promise<readonly string[]>;
  /** Queues the work; throws when it cannot (then the sender gets 503 and retries). */
  enqueue(signals: readonly Signal[]): Promise<void>;
  /** @defaultValue WEBHOOK_QUEUE_DEADLINE_MS */
  readonly queueDeadlineMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

type Kind = 'alertmanager' | 'grafana' | 'generic';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A 503 says when to retry and closes the connection: the retry comes after the keep-alive timeout anyway. */
function sendError(res: ServerResponse, error: HttpError): void {
  const headers =
    error.status === 503 ? { 'retry-after': String(WEBHOOK_RETRY_AFTER_S), connection: 'close' } : {};
  sendJson(res, error.status, { error: error.message }, headers);
}

type InTime = <T>(work: Promise<T>, step: string) => Promise<T>;

/** The queue Redis steps of one request share one deadline; past it the sender gets 503 and retries. */
function queueDeadline(kind: Kind, deps: WebhookDeps): InTime {
  const ms = deps.queueDeadlineMs ?? WEBHOOK_QUEUE_DEADLINE_MS;
  const end = Date.now() + ms;
  return async (work, step) => {
    const result = await within(work, end - Date.now());
    if (result.done) return result.value;
    deps.log.warn({ webhook: kind, step, ms }, 'queue redis too slow for a webhook');
    throw new HttpError(503, `the queue Redis did not answer within ${ms} ms (${step}); retry`);
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest();
const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_WEBHOOK_BYTES)
      return reject(new HttpError(413, `body over ${MAX_WEBHOOK_BYTES} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > MAX_WEBHOOK_BYTES) return;
      size += chunk.length;
      // The rest is read and dropped (not reset) so that the sender gets to read the 413.
      if (size > MAX_WEBHOOK_BYTES) reject(new HttpError(413, `body over ${MAX_WEBHOOK_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function authorize(req: IncomingMessage, deps: WebhookDeps): void {
  if (!deps.token) throw new HttpError(503, 'webhooks are off: WEBHOOK_TOKEN is not configured');
  const header = req.headers.authorization ?? '';
  const given = /^Bearer (.+)$/i.exec(header)?.[1];
  if (!given) throw new HttpError(401, 'missing bearer token (Authorization: Bearer <WEBHOOK_TOKEN>)');
  if (!sameSecret(given, deps.token)) throw new HttpError(401, 'wrong bearer token');
}

function checkGrafanaTimestamp(timestamp: string, now: number): void {
  if (!/^\d{1,12}$/.test(timestamp))
    throw new HttpError(401, 'X-Grafana-Alert-Timestamp must be Unix seconds');
  const skew = Number(timestamp) * 1000 - now;
  if (Math.abs(skew) > GRAFANA_MAX_SKEW_MS)
    throw new HttpError(
      401,
      `X-Grafana-Alert-Timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? 'old' : 'in the future'} (at most ${GRAFANA_MAX_SKEW_MS / 1000} s either way): replayed, or a clock is off`,
    );
}

/** X-Grafana-Alert-Signature: hex HMAC-SHA256 of the body, or of `{timestamp}:{body}` with a timestamp header. */
function checkGrafanaSignature(
  req: IncomingMessage,
  body: string,
  secret: string,
  now: number,
  timestampPolicy: 'required' | 'optional',
): void {
  // Grafana's own default header name is X-Grafana-Alerting-Signature; either name is taken.
  const signature = String(
    req.headers['x-grafana-alert-signature'] ?? req.headers['x-grafana-alerting-signature'] ?? '',
  );
  if (!signature)
    throw new HttpError(401, 'missing X-Grafana-Alert-Signature (or X-Grafana-Alerting-Signature)');
  const header = req.headers['x-grafana-alert-timestamp'];
  const timestamp = Array.isArray(header) ? header.join(',') : header;
  if (timestamp === undefined && timestampPolicy === 'required')
    throw new HttpError(
      401,
      "missing X-Grafana-Alert-Timestamp: set it as the Timestamp Header of Grafana's HMAC signature (or GRAFANA_HMAC_TIMESTAMP=optional, which lets a captured alert be replayed)",
    );
  if (timestamp !== undefined) checkGrafanaTimestamp(timestamp, now);
  const signed = timestamp !== undefined ? `${timestamp}:${body}` : body;
  const expected = createHmac('sha256', secret).update(signed).digest('hex');
  if (!sameSecret(signature.toLowerCase(), expected))
    throw new HttpError(401, 'wrong X-Grafana-Alert-Signature');
}

function parse<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(
      422,
      `payload does not match: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** The known node addresses of every cluster, read only when some alert lacks the cluster label. */
async function knownNodesFor(alerts: readonly Alert[], deps: WebhookDeps, inTime: InTime) {
  if (alerts.every((a) => a.labels[deps.clusterLabel])) return new Map<string, readonly string[]>();
  try {
    const lists = await inTime(
      Promise.all(deps.clusters.map(async (c) => [c.name, await deps.knownNodes(c.name)] as const)),
      'reading known node addresses',
    );
    return new Map<string, readonly string[]>(lists);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    deps.log.error({ err: error }, 'cannot read known node addresses');
    throw new HttpError(503, 'cannot match node addresses right now (queue Redis unavailable); retry');
  }
}

async function signalsFromAlerts(
  alerts: readonly Alert[],
  source: Signal['source'],
  deps: WebhookDeps,
  inTime: InTime,
) {
  const known = await knownNodesFor(alerts, deps, inTime);
  const matched = new Map<string, Signal>();
  const unmatched: string[] = [];
  for (const alert of alerts) {
    const cluster = matchCluster(alert, deps.clusters, deps.clusterLabel, (c) => known.get(c) ?? []);
    if (!cluster) {
      unmatched.push(
        `${alert.labels.alertname ?? 'alert'} {${Object.entries(alert.labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',')}}`,
      );
      continue;
    }
    const previous = matched.get(cluster.name);
    // A firing alert in the group wins over resolved ones: the cluster is looked at either way.
    const status = previous?.status === 'firing' || alert.status === 'firing' ? 'firing' : 'resolved';
    // Firing alerts first, so that a group of many resolved ones cannot push out the one that fires.
    const alerts = [...(previous?.alerts ?? []), alertContext(alert)]
      .sort((a, b) => Number(a.status !== 'firing') - Number(b.status !== 'firing'))
      .slice(0, MAX_ALERTS_PER_SIGNAL);
    matched.set(cluster.name, {
      cluster: cluster.name,
      source,
      status,
      summary: describeAlert(alert),
      alerts,
    });
  }
  return { signals: [...matched.values()], unmatched };
}

/**
 * One webhook route: authenticate, read (bounded), validate, match, queue; 202 in milliseconds, or 503 with
 * Retry-After within the queue deadline.
 */
export function webhookHandler(kind: Kind, deps: WebhookDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      authorize(req, deps);
      const body = await readBody(req);
      const inTime = queueDeadline(kind, deps);
      if (kind === 'grafana' && deps.grafanaSecret)
        checkGrafanaSignature(
          req,
          body,
          deps.grafanaSecret,
          (deps.now ?? Date.now)(),
          deps.grafanaTimestamp ?? 'required',
        );
      const { signals, unmatched } =
        kind === 'generic'
          ? (() => {
              const p = parse(GenericPayload, body);
              const cluster = deps.clusters.find((c) => c.name === p.cluster);
              return cluster
                ? {
                    signals: [
                      {
                        cluster: cluster.name,
                        source: kind,
                        status: p.status,
                        summary: p.summary ?? `generic alert ${p.status}`,
                        alerts: [genericContext(p)],
                      },
                    ],
                    unmatched: [],
                  }
                : { signals: [], unmatched: [`cluster "${p.cluster}"`] };
            })()
          : await signalsFromAlerts(
              kind === 'alertmanager'
                ? parse(AlertmanagerPayload, body).alerts
                : parse(GrafanaPayload, body).alerts,
              kind,
              deps,
              inTime,
            );
      if (unmatched.length > 0)
        deps.log.warn({ webhook: kind, unmatched }, 'alerts matched no configured cluster');
      if (signals.length === 0) {
        throw new HttpError(
          422,
          `no alert matched a configured cluster (label "${deps.clusterLabel}" or a node address): ${unmatched.slice(0, 5).join('; ')}`,
        );
      }
      try {
        await inTime(deps.enqueue(signals), 'queueing the alerts');
      } catch (error) {
        if (error instanceof HttpError) throw error;
        deps.log.error({ err: error, webhook: kind }, 'cannot queue alert work');
        throw new HttpError(503, 'cannot queue the work right now (queue Redis unavailable); retry');
      }
      sendJson(res, 202, { accepted: signals.map((s) => s.cluster), unmatched });
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error);
      throw error;
    }
  };
}
