import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { probeOptions } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import { sleep, within } from '../core/pool.js';
import { type ExecutionResult, executeRepair } from '../core/repair/execute.js';
import type { Journal } from '../core/repair/journal.js';
import type { RepairOption } from '../core/repair/types.js';
import type { Report } from '../core/report.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { AuditLog } from './audit.js';
import { ClusterLock } from './cluster-lock.js';
import { every } from './every.js';
import type { Outbox } from './outbox.js';
import { progressWriter } from './progress-writer.js';
import { quiet, retryUnsent } from './queue-redis.js';
import { requestJournal } from './redis-journal.js';
import { summaryOf } from './repair-progress.js';
import {
  type EligibleApprovers,
  type IncidentLink,
  type RepairRequest,
  RequestStore,
  type RunSummary,
  type VoteResult,
} from './requests.js';

export interface RepairServiceOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly clusters: readonly ClusterConfig[];
  readonly approvalsRequired: number;
  readonly approvalTtlMs: number;
  readonly audit: AuditLog;
  readonly auditRetentionMs?: number;
  readonly log: Logger;
  /** Where a changed request is marked for Slack to show it again (the renderer reads it from there). */
  readonly outbox: Outbox;
  /**
   * Shows a note on the request's message while the queue Redis cannot be read (nothing can be marked then).
   * Never awaited by a repair.
   */
  readonly banner?: (id: string, text: string) => Promise<void>;
  /** BullMQ stall detection; short in tests so a killed worker's job is picked up in seconds. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  /** Told of every report a repair's own probes produce (metrics, known nodes). Never throws. */
  readonly onReport?: (cluster: string, report: Report) => Promise<void>;
  /** Repairs run at once by this process's worker (default 4). */
  readonly concurrency?: number;
  /** How often queued requests without a job are enqueued and pending ones expired (default 2 s). */
  readonly reconcileMs?: number;
  /** A runner silent this long may be taken over (default 3 × the BullMQ lock duration). */
  readonly takeOverAfterMs?: number;
  /** Replicas that must hold each change of state before it is answered (WAIT); default 0. */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
  /** How long a repair waits at a step boundary for the queue Redis to come back (default 30 min). */
  readonly pauseLimitMs?: number;
  readonly now?: () => number;
}

interface JobData {
  readonly requestId: string;
}

const QUEUE = 'repairs';
const LOCK_TTL_MS = 120_000;
const HEARTBEAT_MS = 1000;
const LOCK_LOST = 'the cluster lock was lost to another repair';

type FinalStatus = 'done' | 'failed' | 'stale' | 'cancelled';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Repair requests (a state machine in the queue Redis), their BullMQ queue and worker, and the reconciler. */
export class RepairService {
  readonly store: RequestStore;
  readonly lock: ClusterLock;
  private readonly queue: Queue<JobData>;
  private readonly connections: Redis[] = [];
  private worker: Worker<JobData> | null = null;
  private reconciler: { stop: () => void; done: Promise<void> } | null = null;
  private readonly now: () => number;
  /** The store's connection of its own (with replicas to wait for), else null: it shares the main one. */
  private readonly storeConnection: Redis | null;

  constructor(private readonly options: RepairServiceOptions) {
    // With replicas to wait for, transitions get a connection of their own: WAIT holds its connection until the
    // replicas answer (up to QUEUE_REDIS_WAIT_TIMEOUT), and must not hold the one that health checks and clicks
    // use meanwhile (a queued PING would read as "queue down").
    this.storeConnection = options.waitReplicas ? this.connection({}) : null;
    this.store = new RequestStore(this.storeConnection ?? options.redis, options.prefix, {
      ...(options.auditRetentionMs ? { auditRetentionMs: options.auditRetentionMs } : {}),
      ...(options.waitReplicas ? { waitReplicas: options.waitReplicas } : {}),
      ...(options.waitTimeoutMs ? { waitTimeoutMs: options.waitTimeoutMs } : {}),
    });
    this.lock = new ClusterLock(options.redis, options.prefix);
    this.queue = new Queue<JobData>(QUEUE, {
      connection: this.connection({ enableOfflineQueue: true }),
      prefix: `${options.prefix}:bull`,
    });
    this.now = options.now ?? Date.now;
    this.queue.on('error', (error) => options.log.warn({ err: error.message }, 'repair queue error'));
  }

  /**
   * Whether approvals and steps can be recorded now. A connection of the store's own reconnects on its own
   * schedule after a failover, and fails commands at once until then: the main connection answering is not
   * enough. Its state, not a PING: a PING would queue behind a WAIT in flight and read as down.
   */
  storeReady(): boolean {
    return this.storeConnection === null || this.storeConnection.status === 'ready';
  }

  /** A connection BullMQ uses but does not own: kept here and closed in close(). */
  private connection(overrides: Parameters<Redis['duplicate']>[0]): Redis {
    const redis = quiet(this.options.redis.duplicate(overrides));
    this.connections.push(redis);
    return redis;
  }

  private get takeOverAfterMs(): number {
    return this.options.takeOverAfterMs ?? 3 * (this.options.lockDurationMs ?? 30_000);
  }

  async create(input: {
    cluster: string;
    option: RepairOption;
    requester: string;
    channel: string;
    incident?: IncidentLink | null;
    eligible?: EligibleApprovers | null;
    lossHolders?: readonly string[];
  }): Promise<RepairRequest> {
    const now = this.now();
    const id = `rq-${randomUUID()}`;
    // Its message is queued for Slack in the same transaction: a request never exists without one.
    const request = await this.store.create(
      {
        id,
        cluster: input.cluster,
        option: input.option,
        requester: input.requester,
        channel: input.channel,
        ts: null,
        createdAt: now,
        expiresAt: now + this.options.approvalTtlMs,
        required: this.options.approvalsRequired,
        status: 'pending',
        approvals: [],
        rejectedBy: null,
        cancelledBy: null,
        outcome: null,
        runner: null,
        heartbeatAt: null,
        step: null,
        finished: [],
        cancelRequested: null,
        incident: input.incident ?? null,
        permalink: null,
        eligible: input.eligible ?? null,
        lossHolders: input.lossHolders ?? [],
        result: null,
      },
      (multi) => this.options.outbox.markIn(multi, { kind: 'request', id }),
    );
    await this.options.audit.append({
      event: 'requested',
      request: request.id,
      cluster: input.cluster,
      user: input.requester,
      detail: input.option.title,
    });
    return request;
  }

  /**
   * One vote, atomically (its audit entry and, on the deciding one, the outbox entry are written by the same
   * script). The job is then enqueued; if that fails or the process dies first, the reconciler does it.
   */
  async vote(id: string, user: string, kind: 'approve' | 'reject'): Promise<VoteResult> {
    // A click while the store's connection comes back from a failover waits for it (bounded), never fails.
    const result = await retryUnsent(() => this.store.vote(id, user, kind, this.now()));
    if (result.result === 'quorum') await this.enqueue(id);
    return result;
  }

  /**
   * Closes the cluster's pending requests, saying why (its incident closed: nothing to approve any more); their
   * messages lose their buttons. Requests already approved run, or ran, on their own.
   */
  async retire(cluster: string, recoveredAt: number, createdBefore: number): Promise<number> {
    const at = new Date(recoveredAt).toISOString().slice(11, 16);
    const reason = `No longer needed: the cluster recovered at ${at} UTC. Plan again if something is left.`;
    let retired = 0;
    for (const request of await this.store.recent(100)) {
      // A request made after the healthy look began is about something that look did not see.
      if (request.cluster !== cluster || request.status !== 'pending' || request.createdAt >= createdBefore)
        continue;
      if (!(await this.store.retire(request.id, reason, this.now()))) continue;
      retired++;
      await this.changed(request.id);
    }
    if (retired > 0) this.options.log.info({ cluster, retired }, 'pending requests closed: no longer needed');
    return retired;
  }

  /** Refused clicks are recorded too: who, what, and why refused. */
  async refused(request: string, user: string, why: string): Promise<void> {
    const cluster = (await this.store.get(request).catch(() => null))?.cluster ?? '';
    await this.options.audit.append({ event: 'refused', request, cluster, user, detail: why });
  }

  /** Hands a queued request to BullMQ (job id = request id: a second add is ignored). Never throws. */
  private async enqueue(id: string): Promise<void> {
    try {
      await this.queue.add(
        QUEUE,
        { requestId: id },
        { jobId: id, removeOnComplete: 1000, removeOnFail: 1000 },
      );
      await this.store.enqueued(id);
    } catch (error) {
      this.options.log.warn({ err: message(error), request: id }, 'enqueue failed: the reconciler retries');
    }
  }

  async cancel(id: string, user: string) {
    const outcome = await this.store.cancel(id, user, this.now());
    if (outcome.result === 'closed' || outcome.result === 'missing') {
      await this.refused(id, user, 'cancel: the request is not queued or running');
    }
    if (outcome.request && outcome.result === 'cancelled') await this.changed(outcome.request.id);
    return outcome;
  }

  /** Marks the request for Slack to show its latest version (the render path does, when Slack can). Never throws. */
  async changed(id: string): Promise<void> {
    await this.options.outbox
      .mark({ kind: 'request', id })
      .catch((error: unknown) =>
        this.options.log.warn({ err: message(error), request: id }, 'request not marked for Slack'),
      );
  }

  /** A note on the request's message while the queue Redis is away; never holds the repair. */
  private banner(id: string, text: string): Promise<void> {
    this.options
      .banner?.(id, text)
      .catch((error: unknown) =>
        this.options.log.warn({ err: message(error), request: id }, 'banner failed'),
      );
    return Promise.resolve();
  }

  /** Starts the reconciler, and the worker unless this replica runs no repairs (concurrency 0). */
  startWorker(): void {
    this.reconciler = this.loop(this.options.reconcileMs ?? 2000, () => this.reconcile());
    if (this.options.concurrency === 0) return;
    this.worker = new Worker<JobData>(QUEUE, (job) => this.process(job), {
      connection: this.connection({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: `${this.options.prefix}:bull`,
      concurrency: this.options.concurrency ?? 4,
      lockDuration: this.options.lockDurationMs ?? 30_000,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      maxStalledCount: 1000,
    });
    this.worker.on('error', (error) => this.options.log.warn({ err: error.message }, 'repair worker error'));
  }

  /** Runs `tick` every `ms` until stopped; a failing tick is logged, never thrown. */
  private loop(ms: number, tick: () => Promise<void>): { stop: () => void; done: Promise<void> } {
    return every(ms, tick, (error: unknown) =>
      this.options.log.warn({ err: message(error) }, 'repair background task failed'),
    );
  }

  /**
   * Queued requests without a job get one, and so do running ones whose runner went silent after their job was
   * gone; pending requests past their expiry expire (and say so).
   */
  async reconcile(): Promise<void> {
    for (const id of await this.store.queuedWithoutJob()) {
      const request = await this.store.get(id);
      if (request?.status === 'queued') await this.enqueue(id);
      else await this.store.enqueued(id);
    }
    const now = this.now();
    // A running request whose runner went silent and whose job BullMQ no longer holds gets a job again.
    for (const id of await this.store.silentRunners(now - 2 * this.takeOverAfterMs)) {
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'].includes(state)) continue;
      this.options.log.warn(
        { request: id, job: state },
        'running request without a live job: enqueued again',
      );
      await job?.remove().catch(() => {});
      await this.enqueue(id);
    }
    for (const id of await this.store.due(now)) {
      const { expired } = await this.store.expire(id, now);
      if (expired) await this.changed(id);
    }
  }

  private async process(job: Job<JobData>): Promise<void> {
    const id = job.data.requestId;
    const token = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const log = this.options.log.child({ request: id, runner: token });
    const claimed = await this.claim(id, token);
    if (!claimed) return;
    const { request } = claimed;
    const cluster = this.options.clusters.find((c) => c.name === request.cluster);
    if (!cluster) {
      await this.finish(request, token, 'failed', `cluster ${request.cluster} is no longer configured`);
      return;
    }
    if (!(await this.persist(() => this.lock.take(cluster.name, id, LOCK_TTL_MS)))) {
      const holder = await this.lock.holder(cluster.name).catch(() => 'unknown');
      await this.finish(
        request,
        token,
        'failed',
        `another repair (${holder}) is running on ${cluster.name}; request again when it ends`,
      );
      return;
    }
    // The lock is kept alive from here on, before anything else is done or shown.
    const abort = new AbortController();
    const heart = this.loop(HEARTBEAT_MS, async () => {
      if (abort.signal.aborted) return;
      const mine = await this.store.heartbeat(id, token, this.now()).catch(() => true);
      const locked = await this.lock.extend(cluster.name, id, LOCK_TTL_MS).catch(() => true);
      if (!mine || !locked) {
        log.warn({ mine, locked }, 'repair lost its request or lock: stops at the next step boundary');
        abort.abort(
          mine ? LOCK_LOST : 'another worker took the repair over (this one stopped answering for too long)',
        );
      }
    });
    await this.changed(id);
    const progress = progressWriter({
      log,
      render: () => this.changed(id),
      banner: (text) => this.banner(id, text),
      note: (step, kind, why) =>
        this.persist(() => this.store.note(id, token, step, kind, why, this.now()), 60_000),
    });
    let result: ExecutionResult | null = null;
    try {
      result = await executeRepair(request.option, cluster.seeds, {
        ...probeOptions(cluster),
        journal: progress.journal(
          this.lockChecked(
            requestJournal({
              store: this.store,
              id,
              token,
              signal: abort.signal,
              ...(this.options.pauseLimitMs ? { pauseLimitMs: this.options.pauseLimitMs } : {}),
              onPause: (paused) =>
                progress.banner(
                  paused
                    ? ':double_vertical_bar: The queue Redis does not answer: the repair waits at the step boundary.'
                    : ':arrow_forward: The queue Redis is back: the repair goes on.',
                ),
            }),
            cluster.name,
            id,
            abort,
          ),
        ),
        acceptDataLoss: true,
        signal: abort.signal,
        onEvent: (event) => progress.event(event),
      });
    } catch (error) {
      log.error({ err: error }, 'repair crashed');
    } finally {
      heart.stop();
      await heart.done;
    }
    for (const report of [result?.before, result?.after])
      if (report) await this.options.onReport?.(cluster.name, report);
    const [status, outcome] = this.outcomeOf(result);
    await progress.flush();
    await this.finish(request, token, status, outcome, summaryOf(result));
    await this.lock.release(cluster.name, id).catch(() => {});
  }

  /**
   * The heartbeat checks the cluster lock once a second; a step also checks it as it starts, so that no step
   * starts on a lock already lost (the whole repair stops there). A lock that cannot be read now (queue Redis
   * down) is left to the journal, which waits for the queue Redis, and to the heartbeat.
   */
  private lockChecked(inner: Journal, cluster: string, id: string, abort: AbortController): Journal {
    return {
      ...inner,
      markStarted: async (step, detail) => {
        if ((await this.lock.extend(cluster, id, LOCK_TTL_MS).catch(() => null)) === false) {
          abort.abort(LOCK_LOST);
          return LOCK_LOST;
        }
        return inner.markStarted(step, detail);
      },
    };
  }

  /** Takes the request: at once when queued; when another runner went silent; waits while it is alive. */
  private async claim(
    id: string,
    token: string,
  ): Promise<{ request: RepairRequest; resumed: boolean } | null> {
    for (;;) {
      const { result, request } = await this.persist(() =>
        this.store.claim(id, token, this.now(), this.takeOverAfterMs),
      );
      if ((result === 'claimed' || result === 'resumed') && request)
        return { request, resumed: result === 'resumed' };
      if (result !== 'busy') return null;
      await sleep(HEARTBEAT_MS);
    }
  }

  /** Retries while the queue Redis is unreachable: a repair's bookkeeping waits for it, never skips it. */
  private async persist<T>(
    work: () => Promise<T>,
    limitMs = this.options.pauseLimitMs ?? 30 * 60_000,
  ): Promise<T> {
    const began = this.now();
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (this.now() - began > limitMs) throw error;
        await sleep(500);
      }
    }
  }

  private outcomeOf(result: ExecutionResult | null): [FinalStatus, string] {
    if (!result) return ['failed', 'The repair crashed; see the logs. Plan again to see what is left.'];
    const coverage = (r: ExecutionResult['before']) =>
      r ? `${r.slots.covered}/${SLOT_COUNT} slots, state ${r.state}` : 'unknown';
    const summary = `before: ${coverage(result.before)}; after: ${coverage(result.after)}`;
    const left =
      result.remaining.length > 0
        ? ` Left to do: ${result.remaining.map((s) => `step ${s.index} (${s.where}: ${s.command})`).join('; ')}.`
        : '';
    switch (result.status) {
      case 'done':
        return ['done', `Repaired. ${summary}`];
      case 'stale':
        return ['stale', `Refused: ${result.error}`];
      case 'aborted':
        return result.error === 'cancelled'
          ? ['cancelled', `Cancelled before step ${result.stoppedAt}. ${summary}.${left}`]
          : ['failed', `Stopped before step ${result.stoppedAt}: ${result.error}. ${summary}.${left}`];
      default:
        return ['failed', `Stopped at step ${result.stoppedAt ?? '?'}: ${result.error}. ${summary}.${left}`];
    }
  }

  private async finish(
    request: RepairRequest,
    token: string,
    status: FinalStatus,
    outcome: string,
    summary: RunSummary | null = null,
  ): Promise<void> {
    const ended = await this.persist(() =>
      this.store.finish(request.id, token, status, outcome, this.now(), summary),
    );
    if (!ended.ok) {
      this.options.log.warn(
        { request: request.id },
        'another worker owns the request now; leaving the end to it',
      );
      return;
    }
    this.options.log.info({ audit: status, request: request.id, cluster: request.cluster }, 'repair ended');
    await this.changed(request.id);
  }

  async jobState(id: string): Promise<string | null> {
    const job = await this.queue.getJob(id);
    return job ? await job.getState() : null;
  }

  /** Lets a running repair finish (bounded: a queue Redis that is down cannot be waited for), then closes. */
  async close(timeoutMs = 20_000): Promise<void> {
    this.reconciler?.stop();
    const settled = async (work: Promise<void>) =>
      (
        await within(
          work.catch(() => {}),
          timeoutMs,
        )
      ).done;
    await settled(this.reconciler?.done ?? Promise.resolve());
    if (this.worker && !(await settled(this.worker.close()))) await settled(this.worker.close(true));
    if (!(await settled(this.queue.close()))) await settled(this.queue.disconnect());
    for (const redis of this.connections) redis.disconnect();
  }
}
