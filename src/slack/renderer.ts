import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { within } from '../core/pool.js';
import type { Outbox, OutboxEntry, QueuedPost, ViewRef } from '../jobs/outbox.js';

/** Where a view's message is in Slack. */
export type Where =
  /** `landedAt`: the time of the state its first post showed (0: not known). */
  | { readonly state: 'landed'; readonly channel: string; readonly ts: string; readonly landedAt: number }
  /** Not posted yet, but it will be (its render is queued or running). */
  | { readonly state: 'pending' }
  /** It never will be (Slack refused it for good, or its record is gone). */
  | { readonly state: 'none' };

/** What one render did: the renderer reschedules from it. */
export type Rendered =
  | { readonly result: 'done' }
  | { readonly result: 'wait'; readonly waitMs: number }
  | { readonly result: 'retry'; readonly error: string }
  | { readonly result: 'permanent'; readonly error: string };

/** One kind of view message (the request message, the incident's top message). */
export interface ViewKind {
  render(ref: ViewRef): Promise<Rendered>;
  where(ref: ViewRef): Promise<Where>;
}

export interface SlackRendererOptions {
  readonly outbox: Outbox;
  readonly views: Readonly<Record<ViewRef['kind'], ViewKind>>;
  /** Makes one queued post; `parent` is where its parent view is (null: it has none). */
  readonly post: (post: QueuedPost, parent: Where | null) => Promise<Rendered>;
  readonly log: Logger;
  /** How often the outbox is read. @defaultValue 200 */
  readonly pollMs?: number;
  /** How long one render holds its entry across replicas (longer than a Web API call). @defaultValue 25 s */
  readonly leaseMs?: number;
  /** A post that failed this many times (not rate limits) is dropped. @defaultValue 8 */
  readonly maxPostAttempts?: number;
  readonly now?: () => number;
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Waits after failures: 1 s, 2 s, 4 s … at most a minute. */
const backoff = (attempts: number) => Math.min(60_000, 1000 * 2 ** Math.max(0, attempts - 1));

/**
 * The one render path: takes what is due from the outbox and shows it in Slack, each entry with a lease so that
 * replicas never show one twice at once. Views render their latest state (ten changes while Slack is away make
 * one edit); posts of one channel land in order; a rate limit or a failure reschedules the entry and holds up
 * nothing else. It runs beside the work and nothing waits for it.
 */
export class SlackRenderer {
  private timer: NodeJS.Timeout | null = null;
  private passing: Promise<void> | null = null;
  private readonly running = new Set<Promise<void>>();
  private readonly busy = new Set<string>();
  private readonly busyChannels = new Set<string>();
  /** Failed tries of each view in a row (transient errors), for the backoff. */
  private readonly viewFailures = new Map<string, number>();
  private readonly owner = randomUUID();
  private readonly now: () => number;
  private stopped = false;
  private outboxDown = false;

  constructor(private readonly options: SlackRendererOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.nudge();
      this.timer = setTimeout(tick, this.options.pollMs ?? 200);
      this.timer.unref();
    };
    tick();
  }

  /** Looks at the outbox now (a state change was just written). */
  nudge(): void {
    if (this.passing || this.stopped) return;
    this.passing = this.pass()
      .then(() => {
        if (this.outboxDown) this.options.log.info({}, 'outbox readable again');
        this.outboxDown = false;
      })
      .catch((error: unknown) => {
        // Once per outage: the queue Redis being down is logged where it is noticed first.
        if (!this.outboxDown)
          this.options.log.warn({ err: text(error) }, 'outbox unreadable: Slack waits for it');
        this.outboxDown = true;
      })
      .finally(() => {
        this.passing = null;
      });
  }

  /** Stops reading the outbox; renders in flight end within one Web API timeout. */
  async stop(timeoutMs = 11_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // A queue Redis that does not answer must not hold the shutdown.
    await within(this.passing ?? Promise.resolve(), timeoutMs);
    await within(Promise.allSettled([...this.running]), timeoutMs);
  }

  private async pass(): Promise<void> {
    const entries = await this.options.outbox.due(100);
    // A channel whose earlier post cannot go now holds its later posts back, so they land in order.
    const heldChannels = new Set<string>();
    for (const entry of entries) {
      if (this.busy.has(entry.member)) continue;
      if (entry.type === 'post') {
        const channel = entry.post.channel;
        if (heldChannels.has(channel) || this.busyChannels.has(channel)) continue;
        heldChannels.add(channel);
        // An earlier post of this channel waits: this one waits as long, and keeps its place behind it.
        const until = await this.options.outbox.heldUntil(channel);
        if (until > this.now()) {
          await this.options.outbox.later(entry, until);
          continue;
        }
      }
      if (!(await this.options.outbox.lease(entry.member, this.owner, this.options.leaseMs ?? 25_000)))
        continue;
      this.launch(entry);
    }
  }

  private launch(entry: OutboxEntry): void {
    this.busy.add(entry.member);
    const channel = entry.type === 'post' ? entry.post.channel : null;
    if (channel) this.busyChannels.add(channel);
    const work = this.renderEntry(entry)
      .catch((error: unknown) => this.failed(entry, error))
      .finally(async () => {
        await this.options.outbox.release(entry.member, this.owner).catch(() => {});
        this.busy.delete(entry.member);
        if (channel) this.busyChannels.delete(channel);
        this.running.delete(work);
      });
    this.running.add(work);
  }

  /** A render that threw (the queue Redis failed under it): tried again with the same backoff as a failed call. */
  private async failed(entry: OutboxEntry, error: unknown): Promise<void> {
    const { outbox, log } = this.options;
    const failures = (this.viewFailures.get(entry.member) ?? 0) + 1;
    this.viewFailures.set(entry.member, failures);
    if (failures === 1)
      log.warn({ err: text(error), entry: entry.member }, 'render failed: tried again later');
    const at = this.now() + backoff(failures);
    if (entry.type === 'post') {
      if (entry.post.attempts + 1 >= (this.options.maxPostAttempts ?? 8)) {
        log.error({ post: entry.post.id, err: text(error) }, 'post dropped after repeated failures');
        this.viewFailures.delete(entry.member);
        await outbox.posted(entry).catch(() => {});
        return;
      }
      await outbox.holdChannel(entry.post.channel, at).catch(() => {});
    }
    await outbox.later(entry, at, entry.type === 'post').catch(() => {});
  }

  private async renderEntry(entry: OutboxEntry): Promise<void> {
    const { outbox, log } = this.options;
    if (entry.type === 'view') {
      const outcome = await this.options.views[entry.ref.kind].render(entry.ref);
      if (outcome.result === 'done') {
        this.viewFailures.delete(entry.member);
        await outbox.rendered(entry);
      } else if (outcome.result === 'permanent') {
        this.viewFailures.delete(entry.member);
        await outbox.dropView(entry);
      } else if (outcome.result === 'wait') {
        await outbox.later(entry, this.now() + outcome.waitMs);
      } else {
        const failures = (this.viewFailures.get(entry.member) ?? 0) + 1;
        this.viewFailures.set(entry.member, failures);
        await outbox.later(entry, this.now() + backoff(failures));
      }
      return;
    }
    const { post } = entry;
    const wait = async (ms: number, failed = false) => {
      const at = this.now() + ms;
      await outbox.holdChannel(post.channel, at);
      await outbox.later(entry, at, failed);
    };
    const parent = post.parent ? await this.options.views[post.parent.kind].where(post.parent) : null;
    if (parent?.state === 'pending') return void (await wait(500));
    const outcome = await this.options.post(post, parent);
    if (outcome.result === 'wait') return void (await wait(outcome.waitMs));
    if (outcome.result === 'retry') {
      if (post.attempts + 1 < (this.options.maxPostAttempts ?? 8))
        return void (await wait(backoff(post.attempts + 1), true));
      log.error(
        { post: post.id, channel: post.channel, err: outcome.error },
        'post dropped after repeated failures',
      );
    }
    await outbox.posted(entry);
  }
}
