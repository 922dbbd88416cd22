import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { diagnoser, KnownNodes, reportObserver } from './cluster-probe.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { within } from './core/pool.js';
import { Metrics } from './http/metrics.js';
import { createHttpServer, type Readiness } from './http/server.js';
import { SlackHealth, slackAuthTest } from './http/slack-health.js';
import { WEBHOOK_QUEUE_DEADLINE_MS, webhookHandler } from './http/webhooks.js';
import { AlertPipeline } from './jobs/alert-pipeline.js';
import { AuditLog } from './jobs/audit.js';
import { IncidentService } from './jobs/incidents.js';
import { Outbox } from './jobs/outbox.js';
import { connectQueueRedis, queueUp, watchedNodeBehind } from './jobs/queue-redis.js';
import { RepairService } from './jobs/repair-service.js';
import { RequestStore } from './jobs/requests.js';
import { Timelines } from './jobs/timeline.js';
import { createLogger } from './log.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { registerAppHome } from './slack/app-home.js';
import { Approvers } from './slack/approvers.js';
import { registerCommands } from './slack/commands.js';
import { InFlight } from './slack/in-flight.js';
import { ignoreRedeliveries } from './slack/redeliveries.js';
import { registerRepairActions } from './slack/repair-handlers.js';
import { createSlackViews, type SlackViews } from './slack/slack-views.js';

export interface Running {
  readonly server: Server;
  /** Null without a queue Redis or in READ_ONLY. */
  readonly repairs: RepairService | null;
  readonly slack: SlackApp;
  readonly port: number;
  /** Stops taking work, finishes what runs, closes connections. */
  stop(): Promise<void>;
}

/** The composition root: config → logger → Slack app → HTTP server. A failed start closes what it opened. */
export async function startSlotwatch(config: Config, log: Logger): Promise<Running> {
  const opened: (() => Promise<void>)[] = [];
  try {
    return await start(config, log, (undo) => opened.push(undo));
  } catch (error) {
    for (const undo of opened.reverse()) await undo().catch(() => {});
    throw error;
  }
}

async function start(
  config: Config,
  log: Logger,
  opened: (undo: () => Promise<void>) => void,
): Promise<Running> {
  const metrics = new Metrics();
  const inFlight = new InFlight();
  const slack = await createSlackApp(config, log);
  const queueRedis = config.queueRedis
    ? connectQueueRedis(config.queueRedis.target, log.child({ component: 'queue' }))
    : null;
  opened(async () => queueRedis?.disconnect());
  if (queueRedis && config.queueRedis) {
    const clash = await watchedNodeBehind(queueRedis, config.queueRedis.target, config.clusters, log);
    if (clash) {
      queueRedis.disconnect();
      throw new ConfigError(clash);
    }
  }
  const outbox = queueRedis ? new Outbox(queueRedis, config.queue.prefix) : null;
  /** What waits for Slack; null when the queue Redis does not answer within half a second. */
  const backlog = async () => {
    if (!outbox) return null;
    const read = await within(
      outbox.backlog().catch(() => null),
      500,
    );
    return read.done ? read.value : null;
  };
  /** Set once the render path exists (it needs the stores made below). */
  let views: SlackViews | null = null;
  const audit = queueRedis
    ? new AuditLog(
        queueRedis,
        `${config.queue.prefix}:audit`,
        config.auditRetentionMs,
        log.child({ component: 'audit' }),
      )
    : null;
  const repairs =
    queueRedis && audit && outbox && !config.readOnly
      ? new RepairService({
          redis: queueRedis,
          prefix: config.queue.prefix,
          clusters: config.clusters,
          approvalsRequired: config.approvalsRequired,
          approvalTtlMs: config.approvalTtlMs,
          audit,
          auditRetentionMs: config.auditRetentionMs,
          log: log.child({ component: 'repairs' }),
          outbox,
          banner: async (id, text) => views?.requestView?.banner(id, text),
          lockDurationMs: config.queue.lockDurationMs,
          stalledIntervalMs: config.queue.stalledIntervalMs,
          concurrency: config.queue.workers,
          waitReplicas: config.queueRedis?.waitReplicas ?? 0,
          waitTimeoutMs: config.queueRedis?.waitTimeoutMs ?? 1000,
          onReport: (cluster, report) => observe(cluster, report),
        })
      : null;
  repairs?.startWorker();
  opened(async () => repairs?.close(500));
  const known = queueRedis ? new KnownNodes({ redis: queueRedis, prefix: config.queue.prefix }) : null;
  /** Every diagnosis updates metrics and known nodes through this, repairs' own probes included. */
  const observe = reportObserver(metrics, known, log.child({ component: 'probe' }));
  const diagnose = diagnoser(metrics, observe);
  const slackHealth = new SlackHealth({ authTest: slackAuthTest(config, log) });
  const timelines =
    queueRedis && audit
      ? new Timelines({
          redis: queueRedis,
          prefix: config.queue.prefix,
          store: repairs?.store ?? new RequestStore(queueRedis, config.queue.prefix),
          audit,
        })
      : null;
  const incidents =
    queueRedis && outbox
      ? new IncidentService({
          redis: queueRedis,
          prefix: config.queue.prefix,
          clusters: config.clusters,
          alertChannel: config.alertChannel,
          diagnose,
          outbox,
          onClosed: async (cluster: string, at: number, lookedAt: number) =>
            repairs?.retire(cluster, at, lookedAt),
          log: log.child({ component: 'incidents' }),
          ...(audit
            ? {
                audit: (e: { cluster: string; incident: string; user: string; detail: string }) =>
                  audit.append({ event: 'acknowledged', request: e.incident, ...e }),
              }
            : {}),
        })
      : null;
  const alerts =
    queueRedis && incidents
      ? new AlertPipeline(
          queueRedis,
          config.queue.prefix,
          config.clusters,
          incidents,
          log.child({ component: 'alerts' }),
        )
      : null;
  if (queueRedis && outbox) {
    views = createSlackViews({
      botToken: config.slack.botToken,
      apiUrl: config.slack.apiUrl ?? null,
      redis: queueRedis,
      prefix: config.queue.prefix,
      outbox,
      incidents: incidents?.store ?? null,
      requests: repairs?.store ?? null,
      timelines,
      fixButton: repairs !== null,
      log: log.child({ component: 'slack-views' }),
      count: (method, result, error) => metrics.slackCall(method, error ?? result),
    });
    views.renderer.start();
    metrics.watchSlackBacklog(backlog);
    opened(async () => views?.renderer.stop(500));
  }
  await alerts?.start(config.monitorIntervalMs);
  opened(async () => alerts?.close(500));
  /** The queue Redis answers on every connection a click records through. */
  const queueAnswers = async () =>
    queueRedis !== null && (repairs?.storeReady() ?? true) && queueUp(queueRedis);
  const repair = {
    config,
    log,
    diagnose,
    inFlight,
    repairs,
    audit,
    approvers: new Approvers(config.approvers, slack.app.client),
    outbox,
    queueUp: queueAnswers,
    incidentOf: async (cluster: string) => (await incidents?.current(cluster)) ?? null,
    replayed: async (click: string) =>
      queueRedis
        ? (await queueRedis
            .set(
              `${config.queue.prefix}:click:${createHash('sha256').update(click).digest('hex')}`,
              '1',
              'PX',
              15 * 60_000,
              'NX',
            )
            .catch(() => 'OK')) === null
        : false,
  };
  if (config.slack.mode === 'socket') ignoreRedeliveries(slack.app, repair.replayed, log);
  registerCommands(slack.app, { config, log, metrics, diagnose, inFlight, repair, incidents, timelines });
  registerRepairActions(slack.app, repair);
  registerAppHome(slack.app, {
    clusters: config.clusters,
    diagnose,
    incidents,
    requests: repairs?.store ?? null,
    approvers: repair.approvers,
    requiredApprovals: config.approvalsRequired,
    log: log.child({ component: 'app-home' }),
  });
  /**
   * Ready means able to serve: the Slack connection (Socket Mode) and the queue Redis (degraded without it).
   * Whether the Web API answers, or refuses one channel, is in /healthz and the metrics: it never makes an
   * orchestrator restart a bot that serves.
   */
  const readiness = async (): Promise<Readiness> => {
    const web = await slackHealth.status();
    const slackOk = slack.connected();
    const queue = !queueRedis
      ? { ok: true, detail: 'not configured: repairs are off' }
      : (await queueAnswers())
        ? { ok: true, detail: config.readOnly ? 'up; READ_ONLY: repairs are off' : 'up' }
        : { ok: false, detail: 'down: reports work, repairs are unavailable' };
    return {
      ready: slackOk,
      status: slackOk ? (queue.ok ? 'ready' : 'degraded') : 'not-ready',
      dependencies: {
        slack: { ok: slackOk, detail: slackOk ? `${config.slack.mode} mode: connected` : 'not connected' },
        slackWebApi: { ok: web.ok, detail: `${web.detail} (does not affect readiness; see /healthz)` },
        queueRedis: queue,
      },
    };
  };
  /** What /healthz adds to "the process lives": Slack's Web API as seen from here, and what Slack refuses. */
  const health = async () => ({
    slack: {
      webApi: await slackHealth.status(),
      problems: views?.problems.list() ?? [],
      backlog: await backlog(),
    },
  });
  const webhookDeps = {
    token: config.webhookToken,
    grafanaSecret: config.grafanaHmacSecret,
    grafanaTimestamp: config.grafanaHmacTimestamp,
    clusters: config.clusters,
    clusterLabel: config.alertClusterLabel,
    knownNodes: async (cluster: string) => (known ? known.of(cluster) : []),
    enqueue: async (signals: Parameters<AlertPipeline['enqueue']>[0]) => {
      if (!alerts) throw new Error('QUEUE_REDIS_URL is not configured');
      await incidents?.noteAlerts(signals);
      await alerts.enqueue(signals);
    },
    log: log.child({ component: 'webhooks' }),
  };
  const server = createHttpServer({
    log,
    metrics,
    readiness,
    health,
    posts: {
      '/webhooks/alertmanager': webhookHandler('alertmanager', webhookDeps),
      '/webhooks/grafana': webhookHandler('grafana', webhookDeps),
      '/webhooks/generic': webhookHandler('generic', webhookDeps),
    },
    ...(slack.requestListener ? { slackListener: slack.requestListener } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });
  opened(async () => {
    server.close();
    server.closeAllConnections();
  });
  await slack.start();
  await slackHealth.check();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info(
    { port, mode: config.slack.mode, clusters: config.clusters.map((c) => c.name) },
    'slotwatch started',
  );
  return {
    server,
    slack,
    port,
    repairs,
    stop: async () => {
      log.info({ running: inFlight.size }, 'stopping');
      // New connections are refused; a webhook being answered gets its answer (bounded by its queue deadline).
      const answered = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await slack.stop();
      await inFlight.drain(25_000);
      // With the queue Redis down nothing can be flushed to it: do not wait for it.
      const up = queueRedis ? await queueUp(queueRedis) : false;
      await alerts?.close(up ? 10_000 : 500);
      await views?.renderer.stop(up ? 11_000 : 500);
      if (views?.requestView) await within(views.requestView.settle(), 11_000);
      await repairs?.close(up ? 20_000 : 500);
      await within(answered, WEBHOOK_QUEUE_DEADLINE_MS + 1000);
      queueRedis?.disconnect();
      server.closeAllConnections();
      log.info({}, 'stopped');
    },
  };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`slotwatch: ${error.message}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  // A rejection nobody handled is a bug: logged loudly, never a reason to drop the repairs in flight.
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'BUG: unhandled rejection'));
  const running = await startSlotwatch(config, log).catch((error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`slotwatch: ${error.message}\n`);
    log.fatal({ err: error }, 'start failed');
    process.exit(1);
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === new URL(process.argv[1], 'file:').href) await main();
