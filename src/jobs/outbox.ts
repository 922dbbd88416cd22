import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { ClusterLock } from './cluster-lock.js';

/** A message that shows stored state (latest wins): a repair request's message, an incident's top message. */
export type ViewRef =
  | { readonly kind: 'request'; readonly id: string }
  | { readonly kind: 'incident'; readonly cluster: string; readonly openedAt: number };

/** A message posted once (a thread reply), after its parent view has landed when it has one. */
export interface QueuedPost<T = unknown> {
  readonly id: string;
  readonly channel: string;
  readonly parent: ViewRef | null;
  readonly item: T;
  readonly createdAt: number;
  /** Failed attempts so far (transient errors). */
  readonly attempts: number;
}

export type OutboxEntry =
  | { readonly type: 'view'; readonly member: string; readonly ref: ViewRef; readonly mark: number }
  | { readonly type: 'post'; readonly member: string; readonly post: QueuedPost };

export interface OutboxOptions {
  /** A request's message is edited at most this often (its progress matters to who waits). @defaultValue 1000 */
  readonly minEditGapMs?: number;
  /**
   * An incident's top message is edited at most this often: during a storm it would change every look, and a
   * message that changes every second is neither readable nor worth Slack's shared edit budget. @defaultValue 5000
   */
  readonly incidentEditGapMs?: number;
  /** How long a queued post is kept when it cannot land. @defaultValue 1 h */
  readonly postTtlMs?: number;
  readonly now?: () => number;
}

/**
 * KEYS: 1 due (zset), 2 marks (hash), 3 the member's last render time (a key that lapses after the min gap).
 * ARGV: 1 member, 2 now, 3 min gap. Counts the change; schedules a render unless one is scheduled already (a
 * deferred one keeps its time).
 */
const MARK = `
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local at = math.max(tonumber(ARGV[2]), last + tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], at, ARGV[1])
return 1`;

/**
 * KEYS: 1 due, 2 marks, 3 the member's last render time. ARGV: 1 member, 2 mark rendered, 3 now, 4 min gap.
 * Done unless marked again since (then it renders again after the gap).
 */
const RENDERED = `
redis.call('SET', KEYS[3], ARGV[3], 'PX', math.max(1, tonumber(ARGV[4])))
if (redis.call('HGET', KEYS[2], ARGV[1]) or '0') ~= ARGV[2] then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1`;

/** KEYS: 1 due, 2 the entry's lease. ARGV: 1 member, 2 owner, 3 ms. */
const LEASE = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX') then return 1 end
return 0`;

const POST_ID_DIGITS = 14;

/**
 * The queue of what Slack should show, kept in the queue Redis: views to render again (latest wins, so ten
 * changes while Slack is away make one edit) and posts to make once. Whoever changes state marks its view here;
 * the Slack renderer of any replica takes it from here. Nothing here waits on Slack.
 */
export class Outbox {
  private readonly now: () => number;
  private readonly minEditGapMs: number;
  private readonly incidentEditGapMs: number;
  private readonly postTtlMs: number;
  private seq = 0;
  private readonly leases: ClusterLock;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: OutboxOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.minEditGapMs = options.minEditGapMs ?? 1000;
    this.incidentEditGapMs = options.incidentEditGapMs ?? options.minEditGapMs ?? 5000;
    this.postTtlMs = options.postTtlMs ?? 3_600_000;
    this.leases = new ClusterLock(redis, `${prefix}:slack`);
  }

  private get keys() {
    const base = `${this.prefix}:slack`;
    return {
      due: `${base}:due`,
      marks: `${base}:marks`,
      last: (member: string) => `${base}:last:${member}`,
      hold: `${base}:hold`,
      post: (id: string) => `${base}:post:${id}`,
      // ClusterLock's key layout, so that its release (owner-checked) frees a lease.
      lease: (member: string) => `${base}:lock:${member}`,
    };
  }

  /** The view shows state that changed: render it again (at most once per min gap per message). */
  async mark(ref: ViewRef): Promise<void> {
    await this.markIn(this.redis.multi(), ref).exec();
  }

  /** `mark`, as part of a transaction that also writes the state it shows. */
  markIn(multi: ChainableCommander, ref: ViewRef): ChainableCommander {
    const { due, marks, last } = this.keys;
    const member = viewMember(ref);
    return multi.eval(MARK, 3, due, marks, last(member), member, this.now(), this.gapOf(ref));
  }

  private gapOf(ref: ViewRef): number {
    return ref.kind === 'incident' ? this.incidentEditGapMs : this.minEditGapMs;
  }

  /** Queues a post; posts of one channel land in the order queued. */
  async post(channel: string, parent: ViewRef | null, item: unknown): Promise<void> {
    await this.postIn(this.redis.multi(), channel, parent, item).exec();
  }

  /** `post`, as part of a transaction. */
  postIn(
    multi: ChainableCommander,
    channel: string,
    parent: ViewRef | null,
    item: unknown,
  ): ChainableCommander {
    const k = this.keys;
    const now = this.now();
    // Time first, so that ids sort in the order queued; then this process's count and a random tail.
    const id = `${String(now).padStart(POST_ID_DIGITS, '0')}-${String(++this.seq).padStart(6, '0')}-${randomBytes(3).toString('hex')}`;
    const post: QueuedPost = { id, channel, parent, item, createdAt: now, attempts: 0 };
    return multi.set(k.post(id), JSON.stringify(post), 'PX', this.postTtlMs).zadd(k.due, now, `p:${id}`);
  }

  /** Entries due by now, oldest first (posts in the order queued within one moment). */
  async due(limit = 50): Promise<OutboxEntry[]> {
    const k = this.keys;
    const members = await this.redis.zrangebyscore(k.due, '-inf', this.now(), 'LIMIT', 0, limit);
    if (members.length === 0) return [];
    // One round trip for every entry's mark and post, not one per entry.
    const views = members.filter((m) => m.startsWith('v:'));
    const posts = members.filter((m) => m.startsWith('p:'));
    const [marks, raws] = await Promise.all([
      views.length > 0 ? this.redis.hmget(k.marks, ...views) : Promise.resolve([]),
      posts.length > 0 ? this.redis.mget(posts.map((m) => k.post(m.slice(2)))) : Promise.resolve([]),
    ]);
    const markOf = new Map(views.map((m, i) => [m, Number(marks[i] ?? 0)]));
    const rawOf = new Map(posts.map((m, i) => [m, raws[i] ?? null]));
    // Expired (could not land for an hour) or already made by another replica.
    const gone = posts.filter((m) => rawOf.get(m) === null);
    if (gone.length > 0) await this.redis.zrem(k.due, ...gone);
    return members.flatMap((member): OutboxEntry[] => {
      if (member.startsWith('v:'))
        return [
          {
            type: 'view',
            member,
            ref: JSON.parse(member.slice(2)) as ViewRef,
            mark: markOf.get(member) ?? 0,
          },
        ];
      const raw = rawOf.get(member);
      return raw ? [{ type: 'post', member, post: JSON.parse(raw) as QueuedPost }] : [];
    });
  }

  /**
   * One renderer at a time per entry across replicas, for `ms` (longer than one Web API call), and only while it is
   * still due: an entry another render finished meanwhile is not taken again (no post made twice).
   */
  async lease(member: string, owner: string, ms: number): Promise<boolean> {
    const taken = await this.redis.eval(LEASE, 2, this.keys.due, this.keys.lease(member), member, owner, ms);
    return taken === 1;
  }

  async release(member: string, owner: string): Promise<void> {
    await this.leases.release(member, owner);
  }

  /** The view was shown as of `mark`: done, unless it changed again meanwhile (then it renders again). */
  async rendered(entry: Extract<OutboxEntry, { type: 'view' }>): Promise<void> {
    const { due, marks, last } = this.keys;
    await this.redis.eval(
      RENDERED,
      3,
      due,
      marks,
      last(entry.member),
      entry.member,
      entry.mark,
      this.now(),
      this.gapOf(entry.ref),
    );
  }

  /** The post landed (or will never land): gone. */
  async posted(entry: Extract<OutboxEntry, { type: 'post' }>): Promise<void> {
    const k = this.keys;
    await this.redis.multi().zrem(k.due, entry.member).del(k.post(entry.post.id)).exec();
  }

  /** Try again at `at` (a rate limit, Slack away, or a parent not landed yet). */
  async later(entry: OutboxEntry, at: number, failed = false): Promise<void> {
    const k = this.keys;
    const multi = this.redis.multi().zadd(k.due, 'XX', at, entry.member);
    if (entry.type === 'post' && failed) {
      const post: QueuedPost = { ...entry.post, attempts: entry.post.attempts + 1 };
      multi.set(k.post(entry.post.id), JSON.stringify(post), 'KEEPTTL');
    }
    await multi.exec();
  }

  /** Posts of `channel` wait until `at` (an earlier one of them has to), so they keep their order. */
  async holdChannel(channel: string, at: number): Promise<void> {
    await this.redis.hset(this.keys.hold, channel, at);
  }

  /** Until when each channel's posts wait (one read for a whole pass). */
  async holds(): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(this.keys.hold);
    return new Map(Object.entries(raw).map(([channel, at]) => [channel, Number(at)]));
  }

  /** Whether the view will be rendered (it is due, deferred or being rendered now). */
  async scheduled(ref: ViewRef): Promise<boolean> {
    const member = viewMember(ref);
    const [score, lease] = await Promise.all([
      this.redis.zscore(this.keys.due, member),
      this.redis.exists(this.keys.lease(member)),
    ]);
    return score !== null || lease === 1;
  }

  /** How many entries wait (metrics, tests). */
  async backlog(): Promise<number> {
    return this.redis.zcard(this.keys.due);
  }
}

export const viewMember = (ref: ViewRef): string =>
  `v:${JSON.stringify(ref.kind === 'request' ? { kind: ref.kind, id: ref.id } : { kind: ref.kind, cluster: ref.cluster, openedAt: ref.openedAt })}`;
