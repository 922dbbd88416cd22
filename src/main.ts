import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { diagnoser } from './cluster-probe.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { Metrics } from './http/metrics.js';
import { createHttpServer, type Readiness } from './http/server.js';
import { createLogger } from './log.js';
import { createSlackApp, type SlackApp } from './slack/app.js';
import { registerCommands } from './slack/commands.js';
import { InFlight } from './slack/in-flight.js';

export interface Running {
  readonly server: Server;
  readonly slack: SlackApp;
  readonly port: number;
  /** Stops taking work, finishes what runs, closes connections. */
  stop(): Promise<void>;
}

/** The composition root: config → logger → Slack app → HTTP server. */
export async function startSlotwatch(config: Config, log: Logger): Promise<Running> {
  const metrics = new Metrics();
  const inFlight = new InFlight();
  const slack = await createSlackApp(config, log);
  registerCommands(slack.app, { config, log, metrics, diagnose: diagnoser(metrics), inFlight });
  const readiness = async (): Promise<Readiness> => {
    const slackOk = slack.connected();
    const queue = config.queueRedisUrl
      ? { ok: false, detail: 'repairs arrive in a later release; queue Redis not used yet' }
      : { ok: true, detail: 'not configured: repairs are off' };
    return {
      ready: slackOk,
      status: slackOk ? (queue.ok ? 'ready' : 'degraded') : 'not-ready',
      dependencies: {
        slack: { ok: slackOk, detail: slackOk ? `${config.slack.mode} mode` : 'not connected' },
        queueRedis: queue,
      },
    };
  };
  const server = createHttpServer({
    log,
    metrics,
    readiness,
    ...(slack.requestListener ? { slackListener: slack.requestListener } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, () => resolve());
  });
  await slack.start();
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
    stop: async () => {
      log.info({ running: inFlight.size }, 'stopping');
      server.close();
      await slack.stop();
      await inFlight.drain(25_000);
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
  const running = await startSlotwatch(config, log).catch((error: unknown) => {
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
