import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { sleep } from '../core/pool.js';
import { ClusterLock } from './cluster-lock.js';

export interface ProbeTurnOptions {
  readonly redis: Redis;
  readonly prefix: string;
  /** How long a turn outlives its replica; renewed every third of it. */
  readonly leaseMs: number;
  /** See MonitorTiming.freshMs. */
  readonly freshMs: number;
  /** Poll period while another replica holds the cluster. @defaultValue 50 */
  readonly pollMs?: number;
  /** Longest wait for a look another replica is making (a probe plus its Slack posts). @defaultValue 60 s */
  readonly maxWaitMs?: number;
}

export type TurnResult<T> =
  | { readonly ran: true; readonly value: T }
  /** A tick that found the cluster looked at moments ago. */
  | { readonly ran: false }
  /** Another look held the cluster for the whole wait: the caller hands its work to the next look. */
  | { readonly ran: false; readonly busy: true };

/**
 * One look at a cluster at a time across replicas, and no tick right after another look. BullMQ already
 * runs one job per cluster; this covers what it cannot: a replica whose lock lapsed while it still runs
 * (stalled, not dead) and a tick job run again after its replica died.
 */
export class ProbeTurn {
  private readonly lock: ClusterLock;
  private readonly pollMs: number;

  constructor(private readonly options: ProbeTurnOptions) {
    this.lock = new ClusterLock(options.redis, `${options.prefix}:probe`);
    this.pollMs = options.pollMs ?? 50;
  }

  private freshKey(cluster: string): string {
    return `${this.options.prefix}:probe:fresh:${cluster}`;
  }

  /**
   * Runs `look` holding the cluster. A tick (`job` names its BullMQ job) does not run when another job's
   * look started within `freshMs`; an alert always runs, and counts as fresh for the ticks after it.
   */
  async run<T>(
    cluster: string,
    job: { readonly id: string; readonly tick: boolean },
    look: () => Promise<T>,
  ): Promise<TurnResult<T>> {
    const { redis, freshMs, leaseMs } = this.options;
    if (job.tick) {
      const claimed = await redis.set(this.freshKey(cluster), job.id, 'PX', freshMs, 'NX');
      if (claimed !== 'OK' && (await redis.get(this.freshKey(cluster))) !== job.id) return { ran: false };
    } else {
      await redis.set(this.freshKey(cluster), job.id, 'PX', freshMs);
    }
    const owner = `${job.id}:${randomUUID()}`;
    // A dead holder's lease lapses within leaseMs; a live one (its BullMQ lock lapsed) is waited for.
    const deadline = Date.now() + (this.options.maxWaitMs ?? 60_000);
    while (!(await this.lock.take(cluster, owner, leaseMs))) {
      if (Date.now() > deadline) return { ran: false, busy: true };
      // A waiting alert keeps the cluster fresh, so ticks on every replica step aside instead of taking the
      // cluster before it at each turn (at short intervals they could hold it off for the whole wait).
      if (!job.tick) await redis.set(this.freshKey(cluster), job.id, 'PX', freshMs);
      await sleep(this.pollMs);
    }
    let renewal: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewal = this.lock.extend(cluster, owner, leaseMs).catch(() => false);
    }, leaseMs / 3);
    try {
      return { ran: true, value: await look() };
    } finally {
      clearInterval(timer);
      await renewal;
      await this.lock.release(cluster, owner).catch(() => {});
    }
  }
}
