import type { ChainableCommander, Redis } from 'ioredis';
import type { RepairOption } from '../core/repair/types.js';
import type { EligibleApprovers, IncidentLink, MasterKeys, RunSummary } from './request-context.js';
import { SCRIPTS, type Transition } from './request-scripts.js';

export type { EligibleApprovers, IncidentLink, MasterKeys, RunSummary } from './request-context.js';

export type RequestStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'done'
  | 'failed'
  | 'stale'
  | 'rejected'
  | 'expired'
  | 'cancelled';

export const FINAL_STATUSES: readonly RequestStatus[] = [
  'done',
  'failed',
  'stale',
  'rejected',
  'expired',
  'cancelled',
];

export interface Vote {
  readonly user: string;
  readonly at: number;
}

/** One entry of a request's versioned event list (written by the transition scripts). */
export interface RequestEvent {
  readonly v: number;
  readonly event: string;
  readonly status: RequestStatus;
  readonly user: string;
  readonly at: number;
  readonly detail: string;
  readonly step: number | null;
}

/** A repair someone asked for, waiting for (or past) its approvals. Never holds a password. */
export interface RepairRequest {
  readonly id: string;
  readonly cluster: string;
  readonly option: RepairOption;
  readonly requester: string;
  readonly channel: string;
  readonly ts: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly required: number;
  readonly status: RequestStatus;
  readonly approvals: readonly Vote[];
  readonly rejectedBy: Vote | null;
  readonly cancelledBy: Vote | null;
  readonly outcome: string | null;
  /** Bumped by every transition: Slack shows the highest version only. */
  readonly version: number;
  /** The worker running it, and when it last said it is alive. */
  readonly runner: string | null;
  readonly heartbeatAt: number | null;
  /** The step started and not finished, if any; the steps finished. */
  readonly step: number | null;
  readonly finished: readonly number[];
  readonly cancelRequested: Vote | null;
  readonly incident: IncidentLink | null;
  /** The approval message's permalink, once posted. */
  readonly permalink: string | null;
  readonly eligible: EligibleApprovers | null;
  /** Addresses of the dead nodes that alone held the keys a data-loss option loses. */
  readonly lossHolders: readonly string[];
  readonly result: RunSummary | null;
}

export type VoteResult =
  | { readonly result: 'approved' | 'quorum' | 'rejected' | 'expired'; readonly request: RepairRequest }
  | {
      readonly result: 'missing' | 'self' | 'twice' | 'not-pending';
      readonly request: RepairRequest | null;
    };

export type ClaimResult = 'claimed' | 'resumed' | 'busy' | 'closed' | 'missing';
export type StepResult = 'ok' | 'cancel' | 'lost' | 'missing';
export type NoteKind = 'skipped' | 'failed';
export type CancelResult = 'cancelled' | 'asked' | 'already' | 'closed' | 'missing';

/** The change is on the master but no replica confirmed it: a failover now could take it back. */
export const NOT_REPLICATED = 'not confirmed by the queue Redis replicas';

type Stored = Omit<RepairRequest, 'option'> & { optionId: string };

/** cjson turns an empty array into {} and null into a sentinel: normalise what comes back. */
function decode(raw: string, option: RepairOption): RepairRequest {
  const r = JSON.parse(raw) as Stored & { approvals: unknown; finished: unknown; lossHolders: unknown };
  const { optionId: _optionId, ...rest } = r;
  const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
  const eligible = r.eligible
    ? { users: list<string>(r.eligible.users), unresolvedGroups: list<string>(r.eligible.unresolvedGroups) }
    : null;
  const result = r.result ? { ...r.result, masters: list<MasterKeys>(r.result.masters) } : null;
  return {
    ...rest,
    option,
    approvals: list<Vote>(r.approvals),
    finished: list<number>(r.finished),
    ts: r.ts ?? null,
    version: r.version ?? 0,
    runner: r.runner ?? null,
    heartbeatAt: r.heartbeatAt ?? null,
    step: r.step ?? null,
    cancelRequested: r.cancelRequested ?? null,
    rejectedBy: r.rejectedBy ?? null,
    cancelledBy: r.cancelledBy ?? null,
    outcome: r.outcome ?? null,
    incident: r.incident ?? null,
    permalink: r.permalink ?? null,
    eligible,
    lossHolders: list<string>(r.lossHolders),
    result,
  };
}

export interface RequestStoreOptions {
  /** How long finished requests stay readable. */
  readonly keepMs?: number;
  /** How long audit entries are kept (the stream is trimmed on every write). */
  readonly auditRetentionMs?: number;
  /**
   * After a new request and each change of state, wait (WAIT) until this many replicas hold it, so a failover
   * of the queue Redis cannot take back what was answered; not confirmed in time, the call throws
   * NOT_REPLICATED and the caller retries or says so. 0 (default): do not wait.
   */
  readonly waitReplicas?: number;
  readonly waitTimeoutMs?: number;
}

/** Options kept in memory per store: far more than the requests one bot has open at once. */
const OPTION_CACHE_SIZE = 500;

/** Repair requests in the queue Redis: every change of state is one atomic script (request-scripts.ts). */
export class RequestStore {
  private readonly keepMs: number;
  private readonly auditRetentionMs: number;
  /** Counts (re)connections: a WAIT proves nothing about a write sent on an earlier connection. */
  private connection = 0;
  /**
   * Each request's option, written once with the request and never changed: kept from create, or read once
   * before a process's first script about it, so that nothing is sent after a transition's script (a command
   * queued behind another client's paused write would hold a repair that already recorded its step).
   */
  private readonly optionCache = new Map<string, RepairOption>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: RequestStoreOptions = {},
  ) {
    this.keepMs = options.keepMs ?? 30 * 86_400_000;
    this.auditRetentionMs = options.auditRetentionMs ?? 90 * 86_400_000;
    if (options.waitReplicas) redis.on('ready', () => this.connection++);
  }

  /** WAIT covers the writes sent before it on the same connection: `since` is the one the write went out on. */
  private async replicated(since: number): Promise<void> {
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted === 0) return;
    const acked = await this.redis.wait(wanted, this.options.waitTimeoutMs ?? 1000);
    if (this.connection !== since) throw new Error(`${NOT_REPLICATED}: reconnected after the write`);
    if (acked < wanted) throw new Error(`${NOT_REPLICATED}: ${acked} of ${wanted} replica(s) confirmed it`);
  }

  private key(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  private get index(): string {
    return `${this.prefix}:requests`;
  }

  /** Pending requests by expiry time, so the reconciler finds the due ones without reading them all. */
  private get pending(): string {
    return `${this.prefix}:pending`;
  }

  /** Requests some worker runs (or ran, until it died). */
  private get running(): string {
    return `${this.prefix}:running`;
  }

  /** Running requests whose runner has been silent since before `before`. */
  async silentRunners(before: number): Promise<string[]> {
    const ids = await this.redis.smembers(this.running);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    const silent: string[] = [];
    ids.forEach((id, i) => {
      const r = found[i];
      if (r?.status === 'running' && (r.heartbeatAt ?? 0) < before) silent.push(id);
    });
    await Promise.all(
      ids.filter((_, i) => found[i]?.status !== 'running').map((id) => this.redis.srem(this.running, id)),
    );
    return silent;
  }

  /** Requests approved but not yet handed to the queue (filled atomically with the deciding vote). */
  get outbox(): string {
    return `${this.prefix}:enqueue`;
  }

  /** Records a new request; `also` adds writes to the same transaction (its message, queued for Slack). */
  async create(
    request: Omit<RepairRequest, 'version'>,
    also: (multi: ChainableCommander) => ChainableCommander = (multi) => multi,
  ): Promise<RepairRequest> {
    const { option, ...rest } = request;
    const stored: Stored = { ...rest, version: 1, optionId: option.id };
    const since = this.connection;
    await also(this.redis.multi())
      .set(this.key(request.id), JSON.stringify(stored), 'PX', this.keepMs)
      .set(`${this.key(request.id)}:option`, JSON.stringify(option), 'PX', this.keepMs)
      .zadd(this.index, request.createdAt, request.id)
      .zadd(this.pending, request.expiresAt, request.id)
      .zremrangebyscore(this.index, '-inf', request.createdAt - this.keepMs)
      .exec();
    // As any later read would decode it (a JSON copy), so that this process never needs to read it.
    this.remember(request.id, JSON.parse(JSON.stringify(option)) as RepairOption);
    await this.replicated(since);
    return { ...request, version: 1 };
  }

  async get(id: string): Promise<RepairRequest | null> {
    const cached = this.cachedOption(id);
    if (cached) {
      const raw = await this.redis.get(this.key(id));
      return raw ? decode(raw, cached) : null;
    }
    const [raw, option] = await this.redis.mget(this.key(id), `${this.key(id)}:option`);
    return raw && option ? decode(raw, this.remember(id, JSON.parse(option) as RepairOption)) : null;
  }

  /** The option of request `id` (null when it expired), read from the queue Redis at most once. */
  private async optionOf(id: string): Promise<RepairOption | null> {
    const cached = this.cachedOption(id);
    if (cached) return cached;
    const option = await this.redis.get(`${this.key(id)}:option`);
    return option ? this.remember(id, JSON.parse(option) as RepairOption) : null;
  }

  /** The option kept for `id`, now the most recently used; undefined when not kept. */
  private cachedOption(id: string): RepairOption | undefined {
    const cached = this.optionCache.get(id);
    return cached && this.remember(id, cached);
  }

  /** Keeps `option` for `id`; bounded, the request used longest ago is dropped first (it costs one GET again). */
  private remember(id: string, option: RepairOption): RepairOption {
    this.optionCache.delete(id);
    if (this.optionCache.size >= OPTION_CACHE_SIZE) {
      const oldest = this.optionCache.keys().next().value;
      if (oldest !== undefined) this.optionCache.delete(oldest);
    }
    this.optionCache.set(id, option);
    return option;
  }

  private async run(
    transition: Transition,
    id: string,
    user: string,
    now: number,
    ...args: (string | number)[]
  ): Promise<{ result: string; request: RepairRequest | null }> {
    const keys = [
      this.key(id),
      `${this.key(id)}:events`,
      `${this.prefix}:audit`,
      this.outbox,
      this.pending,
      this.running,
    ];
    // Read before the script, never after: once the script has run, its answer must not wait on a second command.
    const option = await this.optionOf(id);
    const since = this.connection;
    const [result, raw] = (await this.redis.eval(
      SCRIPTS[transition],
      keys.length,
      ...keys,
      now,
      String(Math.max(0, now - this.auditRetentionMs)),
      user,
      ...args,
    )) as [string, string];
    if (!['heartbeat', 'annotate', 'note'].includes(transition)) await this.replicated(since);
    if (!raw) return { result, request: null };
    return { result, request: option ? decode(raw, option) : null };
  }

  async vote(id: string, user: string, kind: 'approve' | 'reject', now: number): Promise<VoteResult> {
    const { result, request } = await this.run('vote', id, user, now, kind);
    if (
      (result === 'approved' || result === 'quorum' || result === 'rejected' || result === 'expired') &&
      request
    )
      return { result, request };
    return { result: result as 'missing' | 'self' | 'twice' | 'not-pending', request };
  }

  async claim(id: string, token: string, now: number, staleMs: number) {
    const { result, request } = await this.run('claim', id, 'slotwatch', now, token, staleMs);
    return { result: result as ClaimResult, request };
  }

  async heartbeat(id: string, token: string, now: number): Promise<boolean> {
    return (await this.run('heartbeat', id, 'slotwatch', now, token)).result === 'ok';
  }

  async step(id: string, token: string, step: number, phase: 'start' | 'done', detail: string, now: number) {
    return (await this.run('step', id, 'slotwatch', now, token, step, phase, detail)).result as StepResult;
  }

  /** What the runner saw in a step (skipped and why, failed and why); no change of state. */
  async note(id: string, token: string, step: number, kind: NoteKind, detail: string, now: number) {
    return (await this.run('note', id, 'slotwatch', now, token, step, kind, detail)).result as StepResult;
  }

  async finish(
    id: string,
    token: string,
    status: 'done' | 'failed' | 'stale' | 'cancelled',
    outcome: string,
    now: number,
    summary: RunSummary | null = null,
  ) {
    const audit = status === 'done' ? 'finished' : status === 'cancelled' ? 'cancelled' : 'failed';
    const { result, request } = await this.run(
      'finish',
      id,
      'slotwatch',
      now,
      token,
      status,
      outcome,
      audit,
      summary ? JSON.stringify(summary) : '',
    );
    return { ok: result === 'ok', request };
  }

  async cancel(id: string, user: string, now: number) {
    const { result, request } = await this.run('cancel', id, user, now);
    return { result: result as CancelResult, request };
  }

  async expire(id: string, now: number) {
    const { result, request } = await this.run('expire', id, 'slotwatch', now);
    if (result === 'missing') await this.redis.zrem(this.pending, id);
    return { expired: result === 'expired', request };
  }

  /** A pending request that no longer makes sense (its incident closed) ends as stale, saying why. */
  async retire(id: string, reason: string, now: number): Promise<boolean> {
    return (await this.run('retire', id, 'slotwatch', now, reason)).result === 'retired';
  }

  /** Fields that are not state (the approval message's ts and permalink). */
  async annotate(
    id: string,
    patch: Partial<Pick<RepairRequest, 'ts' | 'permalink'>>,
    now: number,
  ): Promise<RepairRequest | null> {
    return (await this.run('annotate', id, 'slotwatch', now, JSON.stringify(patch))).request;
  }

  /** The request's versioned events, oldest first (the last 500). */
  async events(id: string): Promise<RequestEvent[]> {
    const raw = await this.redis.lrange(`${this.key(id)}:events`, 0, -1);
    return raw.map((line) => {
      const e = JSON.parse(line) as Partial<RequestEvent> & { detail?: unknown };
      const detail = typeof e.detail === 'string' ? e.detail : '';
      const step =
        typeof e.step === 'number' ? e.step : Number(/^step (\d+)/.exec(detail)?.[1] ?? Number.NaN);
      return {
        v: e.v ?? 0,
        event: e.event ?? '',
        status: e.status ?? 'pending',
        user: e.user ?? '',
        at: e.at ?? 0,
        detail,
        step: Number.isFinite(step) ? step : null,
      };
    });
  }

  async queuedWithoutJob(): Promise<string[]> {
    return this.redis.smembers(this.outbox);
  }

  async enqueued(id: string): Promise<void> {
    await this.redis.srem(this.outbox, id);
  }

  /** Pending requests whose approval window has closed by `now`. */
  async due(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.pending, '-inf', now, 'LIMIT', 0, 500);
  }

  /** Newest first, those still readable. */
  async recent(limit = 20): Promise<RepairRequest[]> {
    const ids = await this.redis.zrevrange(this.index, 0, limit * 3);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is RepairRequest => r !== null).slice(0, limit);
  }
}
