import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import type { ClusterConfig } from '../config.js';
import { within } from '../core/pool.js';
import { every } from './every.js';
import type { IncidentService } from './incidents.js';
import { monitorTiming } from './monitor-timing.js';
import { ProbeTurn } from './probe-turn.js';
import { quiet } from './queue-redis.js';

export interface AlertPipelineOptions {
  /** How long an alert waits for another look at its cluster before it joins the next one. @defaultValue 60 s */
  readonly lookWaitMs?: number;
}

/**
 * Alerts and monitor ticks become per-cluster signal jobs, deduplicated so that a storm costs at most one
 * running and one waiting diagnosis per cluster; the monitor is a job scheduler (one run per tick however many
 * replicas run) whose ticks are spread over the interval. One look per cluster at a time across replicas; a
 * tick skips a cluster looked at moments ago; an alert waits for the running look to end and looks again:
 * each cluster is probed once per interval across replicas, plus one look after an alert. Locks and stall
 * checks follow the interval, so a dead replica's clusters are picked up within one.
 */
export class AlertPipeline {
  private readonly signals: Queue<Signal>;
  private readonly monitor: Queue;
  private workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private keeper: { stop: () => void; done: Promise<void> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly clusters: readonly ClusterConfig[],
    private readonly incidents: IncidentService,
    private readonly log: Logger,
    private readonly options: AlertPipelineOptions = {},
  ) {
    const connection = this.own(redis.duplicate({ enableOfflineQueue: false, maxRetriesPerRequest: 1 }));
    this.signals = new Queue<Signal>('signals', { connection, prefix: `${prefix}:bull` });
    this.monitor = new Queue('monitor', { connection, prefix: `${prefix}:bull` });
    for (const q of [this.signals, this.monitor])
      q.on('error', (error) => log.warn({ err: error.message }, 'alert queue error'));
  }

  /** BullMQ never closes a connection it was handed: keep each one to close it here. */
  private own(redis: Redis): Redis {
    const connection = quiet(redis);
    this.connections.push(connection);
    return connection;
  }

  /** Throws when the queue Redis cannot take the work (the webhook then answers 503). */
  async enqueue(signals: readonly Signal[]): Promise<void> {
    await Promise.all(
      signals.map((signal) =>
        this.signals.add('signal', signal, {
          deduplication: { id: signal.cluster, keepLastIfActive: true },
          removeOnComplete: 100,
          removeOnFail: 100,
        }),
      ),
    );
  }

  /**
   * One tick job per cluster, spread over the interval (a burst of many probes at once costs memory and
   * CPU for nothing). A tick still waiting or running absorbs the next one; ticks have their own
   * deduplication so that an alert never waits behind a delayed tick.
   */
  private async tick(intervalMs: number): Promise<void> {
    const count = this.clusters.length;
    await Promise.all(
      this.clusters.map((c, i) =>
        this.signals.add(
          'signal',
          { cluster: c.name, source: 'monitor', status: 'tick', summary: 'monitor tick' },
          {
            deduplication: { id: `tick-${c.name}` },
            delay: Math.floor((i * intervalMs) / count),
            removeOnComplete: 100,
            removeOnFail: 100,
          },
        ),
      ),
    );
  }

  async start(monitorIntervalMs: number): Promise<void> {
    const timing = monitorTiming(monitorIntervalMs);
    const turn = new ProbeTurn({
      redis: this.redis,
      prefix: this.prefix,
      leaseMs: timing.lockDurationMs,
      freshMs: timing.freshMs,
      ...(this.options.lookWaitMs ? { maxWaitMs: this.options.lookWaitMs } : {}),
    });
    const connection = () =>
      this.own(this.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }));
    const stalls = { lockDuration: timing.lockDurationMs, stalledInterval: timing.stalledIntervalMs };
    this.workers.push(
      new Worker<Signal>(
        'signals',
        async (job) => {
          const { cluster, source } = job.data;
          const look = await turn.run(cluster, { id: job.id ?? '', tick: source === 'monitor' }, () =>
            this.incidents.handle(job.data),
          );
          if (look.ran) return;
          if (!('busy' in look))
            return void this.log.debug({ cluster }, 'tick skipped: the cluster was probed moments ago');
          // The alerts stay noted for the cluster (the webhook kept them): the next look takes them. One is
          // queued here so that there is a next look, whatever the monitor interval.
          this.log.warn({ cluster, source }, 'cluster held by another look: the alert joins the next look');
          await this.signals.add('signal', job.data, {
            deduplication: { id: cluster, keepLastIfActive: true },
            removeOnComplete: 100,
            removeOnFail: 100,
          });
        },
        { connection: connection(), prefix: `${this.prefix}:bull`, concurrency: 8, ...stalls },
      ),
      new Worker('monitor', async () => this.tick(monitorIntervalMs), {
        connection: connection(),
        prefix: `${this.prefix}:bull`,
        ...stalls,
      }),
    );
    for (const w of this.workers)
      w.on('error', (error) => this.log.warn({ err: error.message }, 'alert worker error'));
    const schedule = () =>
      this.monitor.upsertJobScheduler(
        'monitor',
        { every: monitorIntervalMs },
        { name: 'tick', opts: { removeOnComplete: 10, removeOnFail: 10 } },
      );
    await schedule();
    // A queue Redis that restarted without its data lost the scheduler: put it back, or the monitor stops.
    let warned = false;
    this.keeper = every(
      Math.max(1000, monitorIntervalMs),
      async () => {
        if (await this.monitor.getJobScheduler('monitor')) return;
        await schedule();
        this.log.warn({}, 'monitor schedule was gone (queue Redis restarted empty): made again');
      },
      (error: unknown) => {
        if (!warned)
          this.log.debug(
            { err: error instanceof Error ? error.message : String(error) },
            'monitor schedule unreadable',
          );
        warned = true;
      },
    );
  }

  async close(timeoutMs = 10_000): Promise<void> {
    this.keeper?.stop();
    await within(this.keeper?.done ?? Promise.resolve(), timeoutMs);
    await within(
      Promise.all(this.workers.map((w) => w.close())).catch(() => {}),
      timeoutMs,
    );
    await within(
      Promise.all([this.signals.close(), this.monitor.close()]).catch(() => {}),
      timeoutMs,
    );
    for (const connection of this.connections.splice(0)) connection.disconnect();
  }
}
