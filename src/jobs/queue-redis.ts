import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { probeOptions } from '../cluster-probe.js';
import type { ClusterConfig, QueueRedisTarget } from '../config.js';
import { closeProbe, probeCluster } from '../core/probe.js';

/** BullMQ reports connection errors through its queues and workers; the raw connection must not crash on them. */
export const quiet = (redis: Redis): Redis => redis.on('error', () => {});

/** What callers choose about a queue Redis connection; the rest follows from the target. */
export interface QueueConnectionOptions {
  readonly enableOfflineQueue: boolean;
  readonly maxRetriesPerRequest: number | null;
  readonly retryStrategy: (attempt: number) => number | null;
  readonly lazyConnect?: boolean;
  /** Through Sentinel: how long to keep asking unreachable sentinels (default: forever). */
  readonly sentinelRetryStrategy?: (attempt: number) => number | null;
}

/**
 * A connection to the queue Redis. Through Sentinel it asks the sentinels for the current master at every
 * (re)connection and checks its role, so every `duplicate()` (BullMQ's included) follows a failover.
 */
export function openQueueRedis(target: QueueRedisTarget, options: QueueConnectionOptions): Redis {
  if (target.kind === 'url') return new Redis(target.url, options);
  return new Redis({
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.masterName,
    role: 'master',
    ...(target.password ? { password: target.password } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    // Sentinel announces +switch-master: drop the old master at once instead of at its first error.
    failoverDetector: true,
    // A demoted master answers READONLY until Sentinel kills our connection: reconnect and resend.
    reconnectOnError: (error) => (/^READONLY/.test(error.message) ? 2 : false),
    ...options,
  });
}

/** Names the setting in messages: the operator knows which one to look at. */
export const describeTarget = (target: QueueRedisTarget): string =>
  target.kind === 'url' ? 'QUEUE_REDIS_URL' : `the master "${target.masterName}" of QUEUE_REDIS_SENTINELS`;

/** The queue Redis: reconnects forever, fails commands at once while it is down (callers say so). */
export function connectQueueRedis(target: QueueRedisTarget, log: Logger): Redis {
  const redis = openQueueRedis(target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  });
  let down = false;
  redis.on('error', (error) => {
    if (!down) log.warn({ err: error.message }, 'queue redis unavailable');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info({}, 'queue redis back');
    down = false;
  });
  return redis;
}

export async function queueUp(redis: Redis): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  return Promise.race([
    redis.ping().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
  ]);
}

const runId = (info: string): string | null => /run_id:([0-9a-f]+)/.exec(info)?.[1] ?? null;

/**
 * Refuses a queue Redis that is a node of a watched cluster (compared by run_id, not address: NAT and
 * aliases hide the same server behind different names). A CLUSTERDOWN there would stop the repair.
 */
export async function watchedNodeBehind(
  redis: Redis,
  target: QueueRedisTarget,
  clusters: readonly ClusterConfig[],
  log: Logger,
): Promise<string | null> {
  await new Promise<void>((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
    setTimeout(() => reject(new Error('the queue Redis did not answer within 10 s')), 10_000).unref();
  });
  const queueRunId = runId(await redis.info('server'));
  for (const cluster of clusters) {
    const probe = await probeCluster(cluster.seeds, probeOptions(cluster));
    closeProbe(probe);
    if (!probe.views.some((v) => v.reachable))
      log.warn({ cluster: cluster.name }, 'cluster unreachable at start: queue run_id check skipped for it');
    const same = probe.views.find((v) => v.info?.server?.run_id === queueRunId);
    if (same)
      return `${describeTarget(target)} points at ${same.address}, a node of watched cluster "${cluster.name}" (same run_id): a CLUSTERDOWN there would stop the repairs`;
  }
  return null;
}

/** ioredis refused the command before sending it (the connection is not up yet): safe to send again. */
const unsent = (error: unknown) =>
  /Stream isn't writeable|enableOfflineQueue/.test(error instanceof Error ? error.message : String(error));

/**
 * Runs `work` again while ioredis refuses to send it because its connection is coming back (after a failover a
 * connection can drop once more right after it was ready); a command that was sent is never repeated.
 */
export async function retryUnsent<T>(work: () => Promise<T>, limitMs = 2000, pauseMs = 100): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!unsent(error) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
