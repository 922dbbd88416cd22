import type { Redis } from 'ioredis';
import type { RepairOption } from '../core/repair/types.js';

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

export interface Vote {
  readonly user: string;
  readonly at: number;
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
}

export type VoteResult =
  | { readonly result: 'approved' | 'quorum' | 'rejected'; readonly request: RepairRequest }
  | {
      readonly result: 'missing' | 'self' | 'twice' | 'expired' | 'not-pending';
      readonly request: RepairRequest | null;
    };

// Every change to a request is one script: concurrent clicks are serialised by Redis, none is lost or doubled.
const VOTE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local r = cjson.decode(raw)
local user, now, kind = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if r.status ~= 'pending' then return {'not-pending', raw} end
if now > r.expiresAt then
  r.status = 'expired'
  raw = cjson.encode(r)
  redis.call('SET', KEYS[1], raw, 'KEEPTTL')
  return {'expired', raw}
end
if kind == 'reject' then
  r.status = 'rejected'
  r.rejectedBy = { user = user, at = now }
  raw = cjson.encode(r)
  redis.call('SET', KEYS[1], raw, 'KEEPTTL')
  return {'rejected', raw}
end
if r.requester == user then return {'self', raw} end
if type(r.approvals) ~= 'table' then r.approvals = {} end
for _, vote in ipairs(r.approvals) do
  if vote.user == user then return {'twice', raw} end
end
table.insert(r.approvals, { user = user, at = now })
local result = 'approved'
if #r.approvals >= r.required then
  r.status = 'queued'
  result = 'quorum'
end
raw = cjson.encode(r)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return {result, raw}
`;

const UPDATE = `
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local r = cjson.decode(raw)
local patch = cjson.decode(ARGV[1])
local from = ARGV[2]
if from ~= '' and r.status ~= from then return nil end
for k, v in pairs(patch) do r[k] = v end
raw = cjson.encode(r)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return raw
`;

/** cjson turns an empty array into {} and null into a sentinel: normalise what comes back. */
function decode(raw: string): RepairRequest {
  const r = JSON.parse(raw) as RepairRequest & { approvals: unknown };
  return { ...r, approvals: Array.isArray(r.approvals) ? r.approvals : [], ts: r.ts ?? null };
}

export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long finished requests stay readable. */
    private readonly keepMs = 30 * 86_400_000,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  private get index(): string {
    return `${this.prefix}:requests`;
  }

  async create(request: RepairRequest): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(request.id), JSON.stringify(request), 'PX', this.keepMs)
      .zadd(this.index, request.createdAt, request.id)
      .exec();
  }

  async get(id: string): Promise<RepairRequest | null> {
    const raw = await this.redis.get(this.key(id));
    return raw ? decode(raw) : null;
  }

  async vote(id: string, user: string, kind: 'approve' | 'reject', now: number): Promise<VoteResult> {
    const [result, raw] = (await this.redis.eval(VOTE, 1, this.key(id), user, now, kind)) as [string, string];
    const request = raw ? decode(raw) : null;
    if ((result === 'approved' || result === 'quorum' || result === 'rejected') && request)
      return { result, request };
    return { result: result as 'missing' | 'self' | 'twice' | 'expired' | 'not-pending', request };
  }

  /** Applies `patch`, only from status `from` when given; null when the request is gone or elsewhere. */
  async update(
    id: string,
    patch: Partial<RepairRequest>,
    from?: RequestStatus,
  ): Promise<RepairRequest | null> {
    const raw = (await this.redis.eval(UPDATE, 1, this.key(id), JSON.stringify(patch), from ?? '')) as
      | string
      | null;
    return raw ? decode(raw) : null;
  }

  /** Newest first, those still readable. */
  async recent(limit = 20): Promise<RepairRequest[]> {
    const ids = await this.redis.zrevrange(this.index, 0, limit * 3);
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is RepairRequest => r !== null).slice(0, limit);
  }
}
