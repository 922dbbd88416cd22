import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Slack's limits as Slotwatch keeps them (a little under Slack's, shared by every replica). */
export interface MethodBudget {
  /** Calls in any sliding minute, across the workspace. */
  readonly perMinute?: number;
  /** At most one call per this many ms per channel. */
  readonly perChannelMs?: number;
}

export const BUDGETS: Readonly<Record<string, MethodBudget>> = {
  // Tier 3 (about 50/min): kept at 45 so that clock skew between replicas and Slack never reaches 50.
  'chat.update': { perMinute: 45 },
  // About one message per second per channel.
  'chat.postMessage': { perChannelMs: 1000, perMinute: 90 },
  // An upload ends in a message in the channel: it takes the channel's turn too (Tier 4 otherwise).
  'files.uploadV2': { perChannelMs: 1000, perMinute: 30 },
  'chat.getPermalink': { perMinute: 90 },
};

/**
 * KEYS: 1 the method's window (zset of call times), 2 the method's block (from a 429), 3 the channel's turn (or
 * an unused key). ARGV: 1 now, 2 per minute (0: none), 3 per channel ms (0: none), 4 a unique member.
 * Returns 0 when the call may go now (and counts it), else the ms to wait.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local perMinute, perChannel = tonumber(ARGV[2]), tonumber(ARGV[3])
if perChannel > 0 then
  local wait = redis.call('PTTL', KEYS[3])
  if wait > 0 then return wait end
end
if perMinute > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
  if redis.call('ZCARD', KEYS[1]) >= perMinute then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + 60000 - now)
  end
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], 61000)
end
if perChannel > 0 then redis.call('SET', KEYS[3], '1', 'PX', perChannel) end
return 0`;

/** Slack's limits across replicas, in the queue Redis: a call takes its turn here before it goes. */
export class SlackBudget {
  private seq = 0;
  private readonly id = randomUUID();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly budgets: Readonly<Record<string, MethodBudget>> = BUDGETS,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when `method` may be called now for `channel` (the call is counted), else how long to wait (ms). */
  async take(method: string, channel: string | null): Promise<number> {
    const budget = this.budgets[method] ?? {};
    const base = `${this.prefix}:slack-budget`;
    const perChannel = channel ? (budget.perChannelMs ?? 0) : 0;
    return Number(
      await this.redis.eval(
        TAKE,
        3,
        `${base}:window:${method}`,
        `${base}:blocked:${method}`,
        // The per-channel turn is shared by every method that ends in a message there.
        `${this.prefix}:rate:${channel ?? '-'}`,
        this.now(),
        budget.perMinute ?? 0,
        perChannel,
        // Unique across replicas (containers often share pid 1) and calls within one millisecond.
        `${this.now()}-${this.id}-${++this.seq}`,
      ),
    );
  }

  /** Slack answered 429: nobody calls `method` again before Retry-After has passed. */
  async block(method: string, ms: number): Promise<void> {
    await this.redis.set(`${this.prefix}:slack-budget:blocked:${method}`, '1', 'PX', Math.max(1, ms));
  }
}
