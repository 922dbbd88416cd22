import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { probeOptions } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import { within } from '../core/pool.js';
import { executeRepair } from '../core/repair/execute.js';
import type { RepairOption } from '../core/repair/types.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { AuditLog } from './audit.js';
import { ClusterLock } from './cluster-lock.js';
import { quiet } from './queue-redis.js';
import { redisJournal } from './redis-journal.js';
import { type RepairRequest, RequestStore, type VoteResult } from './requests.js';

/** What the service tells the outside (Slack) about a request; the adapter renders it. */
export interface RepairNotifier {
  requestChanged(request: RepairRequest): Promise<void>;
  progress(request: RepairRequest, text: string): Promise<void>;
}

export interface RepairServiceOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly clusters: readonly ClusterConfig[];
  readonly approvalsRequired: number;
  readonly approvalTtlMs: number;
  readonly audit: AuditLog;
  readonly log: Logger;
  readonly notifier: RepairNotifier;
  /** BullMQ stall detection; short in tests so a killed worker's job is picked up in seconds. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
  readonly now?: () => number;
}

interface JobData {
  readonly requestId: string;
}

const QUEUE = 'repairs';

/** Repair requests, votes and the BullMQ queue and worker that run approved repairs. */
export class RepairService {
  readonly store: RequestStore;
  readonly lock: ClusterLock;
  private readonly queue: Queue<JobData>;
  private worker: Worker<JobData> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: RepairServiceOptions) {
    this.store = new RequestStore(options.redis, options.prefix);
    this.lock = new ClusterLock(options.redis, options.prefix);
    this.queue = new Queue<JobData>(QUEUE, {
      connection: quiet(options.redis.duplicate({ enableOfflineQueue: true })),
      prefix: `${options.prefix}:bull`,
    });
    this.now = options.now ?? Date.now;
    this.queue.on('error', (error) => options.log.warn({ err: error.message }, 'repair queue error'));
  }

  async create(input: {
    cluster: string;
    option: RepairOption;
    requester: string;
    channel: string;
  }): Promise<RepairRequest> {
    const now = this.now();
    const request: RepairRequest = {
      id: `rq-${randomUUID()}`,
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
    };
    await this.store.create(request);
    await this.options.audit.append({
      event: 'requested',
      request: request.id,
      cluster: input.cluster,
      user: input.requester,
      detail: input.option.title,
    });
    return request;
  }

  /** One vote, atomically; on the deciding approval the job is queued (job id = request id: never twice). */
  async vote(id: string, user: string, kind: 'approve' | 'reject'): Promise<VoteResult> {
    const result = await this.store.vote(id, user, kind, this.now());
    const request = result.request;
    if (!request) return result;
    const audit = (event: 'approved' | 'rejected' | 'expired' | 'queued', detail: string) =>
      this.options.audit.append({ event, request: id, cluster: request.cluster, user, detail });
    if (result.result === 'approved')
      await audit('approved', `${request.approvals.length}/${request.required}`);
    if (result.result === 'rejected') await audit('rejected', 'rejected: request closed');
    if (result.result === 'expired') await audit('expired', 'approval window over');
    if (result.result === 'quorum') {
      await audit('approved', `${request.approvals.length}/${request.required}`);
      await this.queue.add(
        'repair',
        { requestId: id },
        { jobId: id, removeOnComplete: 1000, removeOnFail: 1000 },
      );
      await audit('queued', request.option.id);
    }
    return result;
  }

  async cancel(id: string, user: string): Promise<RepairRequest | null> {
    const request = await this.store.get(id);
    if (!request || (request.status !== 'running' && request.status !== 'queued')) return null;
    await this.options.redis.set(`${this.options.prefix}:cancel:${id}`, user, 'PX', 86_400_000);
    await this.options.audit.append({
      event: 'cancelled',
      request: id,
      cluster: request.cluster,
      user,
      detail: 'cancel asked: stops between steps',
    });
    return this.store.update(id, { cancelledBy: { user, at: this.now() } });
  }

  startWorker(): void {
    this.worker = new Worker<JobData>(QUEUE, (job) => this.process(job), {
      connection: quiet(
        this.options.redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true }),
      ),
      prefix: `${this.options.prefix}:bull`,
      concurrency: 4,
      lockDuration: this.options.lockDurationMs ?? 30_000,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      maxStalledCount: 2,
    });
    this.worker.on('error', (error) => this.options.log.warn({ err: error.message }, 'repair worker error'));
  }

  private async process(job: Job<JobData>): Promise<void> {
    const id = job.data.requestId;
    const log = this.options.log.child({ request: id });
    const current = await this.store.get(id);
    if (!current || !['queued', 'running'].includes(current.status)) return;
    const cluster = this.options.clusters.find((c) => c.name === current.cluster);
    const audit = (
      event: 'started' | 'step' | 'finished' | 'failed' | 'refused' | 'cancelled',
      detail: string,
    ) =>
      this.options.audit.append({ event, request: id, cluster: current.cluster, user: 'slotwatch', detail });
    if (!cluster) {
      await this.finish(current, 'failed', `cluster ${current.cluster} is no longer configured`);
      return;
    }
    if (!(await this.lock.take(cluster.name, id, 120_000))) {
      const holder = await this.lock.holder(cluster.name);
      await audit('refused', `another repair (${holder}) runs on ${cluster.name}`);
      await this.finish(
        current,
        'failed',
        `another repair (${holder}) is running on ${cluster.name}; request again when it ends`,
      );
      return;
    }
    const resumed = current.status === 'running';
    const running = (await this.store.update(id, { status: 'running' })) ?? current;
    await audit('started', resumed ? 'resumed after a worker restart' : running.option.id);
    await this.options.notifier.requestChanged(running);
    await this.options.notifier.progress(
      running,
      resumed ? ':arrows_counterclockwise: Resumed after a worker restart.' : ':gear: Repair started.',
    );
    const abort = new AbortController();
    const watch = setInterval(() => {
      void this.lock.extend(cluster.name, id, 120_000);
      void this.options.redis
        .exists(`${this.options.prefix}:cancel:${id}`)
        .then((n) => n === 1 && abort.abort());
    }, 500);
    try {
      const result = await executeRepair(running.option, cluster.seeds, {
        ...probeOptions(cluster),
        journal: redisJournal(this.options.redis, `${this.options.prefix}:journal:${id}`),
        acceptDataLoss: true,
        signal: abort.signal,
        onEvent: (event) => {
          const text =
            event.type === 'step-started'
              ? `Step ${event.step.index}/${running.option.steps.length} on ${event.step.where}: \`${event.step.command}\``
              : event.type === 'step-finished'
                ? `Step ${event.step.index} done (${event.ms} ms).`
                : event.type === 'step-skipped'
                  ? `Step ${event.step.index} skipped: ${event.reason}.`
                  : event.type === 'step-note'
                    ? event.message
                    : `Step ${event.step.index} failed: ${event.error}`;
          void audit('step', text);
          void this.options.notifier.progress(running, text);
        },
      });
      const coverage = (r: typeof result.before) =>
        r ? `${r.slots.covered}/${SLOT_COUNT} slots, state ${r.state}` : 'unknown';
      const summary = `before: ${coverage(result.before)}; after: ${coverage(result.after)}`;
      if (result.status === 'done') await this.finish(running, 'done', `Repaired. ${summary}`);
      else if (result.status === 'stale') await this.finish(running, 'stale', `Refused: ${result.error}`);
      else if (result.status === 'aborted')
        await this.finish(running, 'cancelled', `Cancelled before step ${result.stoppedAt}. ${summary}`);
      else
        await this.finish(
          running,
          'failed',
          `Stopped at step ${result.stoppedAt ?? '?'}: ${result.error}. ${summary}`,
        );
    } catch (error) {
      log.error({ err: error }, 'repair crashed');
      await this.finish(
        running,
        'failed',
        `crashed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      clearInterval(watch);
      await this.lock.release(cluster.name, id);
    }
  }

  private async finish(
    request: RepairRequest,
    status: 'done' | 'failed' | 'stale' | 'cancelled',
    outcome: string,
  ): Promise<void> {
    // Audit first: whoever sees the new status can already read why.
    await this.options.audit.append({
      event: status === 'done' ? 'finished' : status === 'cancelled' ? 'cancelled' : 'failed',
      request: request.id,
      cluster: request.cluster,
      user: 'slotwatch',
      detail: outcome,
    });
    const updated = (await this.store.update(request.id, { status, outcome })) ?? request;
    await this.options.notifier.progress(updated, outcome);
    await this.options.notifier.requestChanged(updated);
  }

  async jobState(id: string): Promise<string | null> {
    const job = await this.queue.getJob(id);
    return job ? await job.getState() : null;
  }

  /** Lets a running repair finish (bounded: a queue Redis that is down cannot be waited for), then closes. */
  async close(timeoutMs = 20_000): Promise<void> {
    const settled = async (work: Promise<void>) =>
      (
        await within(
          work.catch(() => {}),
          timeoutMs,
        )
      ).done;
    if (this.worker && !(await settled(this.worker.close()))) void this.worker.close(true).catch(() => {});
    if (!(await settled(this.queue.close()))) void this.queue.disconnect().catch(() => {});
  }
}
