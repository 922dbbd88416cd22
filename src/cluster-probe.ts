import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ClusterConfig } from './config.js';
import { type DiagnoseError, type DiagnoseOptions, diagnose } from './core/diagnose.js';
import type { Report } from './core/report.js';
import type { Result } from './core/result.js';
import type { Metrics } from './http/metrics.js';

/** Probe options for a configured cluster: credentials, TLS and address map, never logged. */
export function probeOptions(cluster: ClusterConfig): DiagnoseOptions {
  return {
    nodeTimeoutMs: 2000,
    deadlineMs: 6000,
    ...(cluster.username !== undefined ? { username: cluster.username } : {}),
    ...(cluster.password !== undefined ? { password: cluster.password } : {}),
    ...(cluster.tls ? { tls: cluster.tls } : {}),
    ...(cluster.addressMap ? { addressMap: cluster.addressMap } : {}),
    ...cluster.probeLimits,
  };
}

export type DiagnoseCluster = (cluster: ClusterConfig) => Promise<Result<Report, DiagnoseError>>;

export interface KnownNodesOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** How long an address stays known after the last probe that saw it. @defaultValue 1 hour */
  readonly ttlMs?: number;
  /** Most addresses kept per cluster; the least recently seen go first. @defaultValue 1000 */
  readonly maxPerCluster?: number;
  readonly now?: () => number;
}

/**
 * Node addresses each cluster had at its recent diagnoses (alerts name nodes, not clusters), in the queue
 * Redis so that every replica matches what any replica probed: one sorted set per cluster, scored by when
 * the address was last seen.
 */
export class KnownNodes {
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly options: KnownNodesOptions) {
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.max = options.maxPerCluster ?? 1000;
    this.now = options.now ?? Date.now;
  }

  private key(cluster: string): string {
    return `${this.options.prefix}:known-nodes:${cluster}`;
  }

  async record(cluster: string, report: Report): Promise<void> {
    const addresses = [...new Set(report.nodes.flatMap((n) => (n.address ? [n.address] : [])))].slice(
      0,
      this.max,
    );
    if (addresses.length === 0) return;
    const now = this.now();
    const key = this.key(cluster);
    await this.options.redis
      .multi()
      .zadd(key, ...addresses.flatMap((a) => [now, a]))
      .zremrangebyscore(key, '-inf', now - this.ttlMs)
      .zremrangebyrank(key, 0, -(this.max + 1))
      .pexpire(key, this.ttlMs)
      .exec();
  }

  /** Throws when the queue Redis cannot answer. */
  async of(cluster: string): Promise<string[]> {
    return this.options.redis.zrangebyscore(
      this.key(cluster),
      this.now() - this.ttlMs,
      '+inf',
      'LIMIT',
      0,
      this.max,
    );
  }
}

/** What every diagnosis the bot runs updates: metrics and, with a queue Redis, the known node addresses. */
export type ReportObserver = (cluster: string, report: Report) => Promise<void>;

export function reportObserver(metrics: Metrics, known: KnownNodes | null, log: Logger): ReportObserver {
  return async (cluster, report) => {
    metrics.observed(cluster, report);
    await known
      ?.record(cluster, report)
      .catch((error: unknown) => log.warn({ cluster, err: error }, 'cannot record known nodes'));
  };
}

/**
 * Diagnoses a configured cluster and records what every door shares (metrics, known nodes). Callers for the
 * same cluster share probes: while one runs, everyone who asks waits for the single next one, which starts
 * when it ends. Every answer comes from a probe that began after the question (never an older reading), and
 * an alert storm or a channel full of `/redis status` costs one running and one waiting probe per cluster.
 */
export function diagnoser(metrics: Metrics, observe: ReportObserver): DiagnoseCluster {
  type Probe = Promise<Result<Report, DiagnoseError>>;
  const flights = new Map<string, { running: Probe | null; next: Probe | null }>();
  const probe = async (cluster: ClusterConfig): Probe => {
    const began = performance.now();
    const result = await diagnose(cluster.seeds, probeOptions(cluster));
    metrics.probed(cluster.name, (performance.now() - began) / 1000, result.ok);
    if (result.ok) await observe(cluster.name, result.value);
    return result;
  };
  const start = (cluster: ClusterConfig, flight: { running: Probe | null }): Probe => {
    const running: Probe = probe(cluster).finally(() => {
      if (flight.running === running) flight.running = null;
    });
    flight.running = running;
    return running;
  };
  return (cluster) => {
    let flight = flights.get(cluster.name);
    if (!flight) {
      flight = { running: null, next: null };
      flights.set(cluster.name, flight);
    }
    const current = flight;
    if (!current.running) return start(cluster, current);
    current.next ??= current.running
      .catch(() => undefined)
      .then(() => {
        current.next = null;
        return start(cluster, current);
      });
    return current.next;
  };
}
