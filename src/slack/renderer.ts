import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { within } from '../core/pool.js';
import type { Outbox, OutboxEntry, QueuedPost, ViewRef } from '../jobs/outbox.js';
import type { CallOutcome } from './slack-calls.js';

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

/** A call's outcome as what the renderer does next. */
export function renderedOf(outcome: CallOutcome<unknown>): Rendered {
  if (outcome.ok) return { result: 'done' };
  if (outcome.kind === 'wait') return { result: 'wait', waitMs: outcome.waitMs };
  if (outcome.kind === 'permanent') return { result: 'permanent', error: outcome.error };
  return { result: 'retry', error: outcome.error };
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

  /** One pass over what is due, unless one is still going. */
  private nudge(): void {
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
    const holds = entries.some((e) => e.type === 'post') ? await this.options.outbox.holds() : new Map();
    // A channel whose earlier post cannot go now holds its later posts back, so they land in order.
    const heldChannels = new Set<string>();
    for (const entry of entries) {
      if (this.busy.has(entry.member)) continue;
      if (entry.type === 'post') {
        const channel = entry.post.channel;
        if (heldChannels.has(channel) || this.busyChannels.has(channel)) continue;
        heldChannels.add(channel);
        // An earlier post of this channel waits: this one waits as long, and keeps its place behind it.
        const until = holds.get(channel) ?? 0;
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
    // Only the outbox's own bookkeeping can throw here (the queue Redis went away): the entry stays due.
    const work = this.renderEntry(entry)
      .catch((error: unknown) =>
        this.options.log.warn({ err: text(error), entry: entry.member }, 'render not recorded'),
      )
      .finally(async () => {
        await this.options.outbox.release(entry.member, this.owner).catch(() => {});
        this.busy.delete(entry.member);
        if (channel) this.busyChannels.delete(channel);
        this.running.delete(work);
      });
    this.running.add(work);
  }

  /** A render that threw (the queue Redis failed under it) is a failed try like any other: backoff, then again. */
  private retryOf(entry: OutboxEntry) {
    return (error: unknown): Rendered => {
      this.options.log.warn({ err: text(error), entry: entry.member }, 'render failed: tried again later');
      return { result: 'retry', error: text(error) };
    };
  }

  private async renderEntry(entry: OutboxEntry): Promise<void> {
    const { outbox, log } = this.options;
    if (entry.type === 'view') {
      const outcome = await this.options.views[entry.ref.kind].render(entry.ref).catch(this.retryOf(entry));
      if (outcome.result === 'wait') return void (await outbox.later(entry, this.now() + outcome.waitMs));
      if (outcome.result === 'retry') {
        const failures = (this.viewFailures.get(entry.member) ?? 0) + 1;
        this.viewFailures.set(entry.member, failures);
        return void (await outbox.later(entry, this.now() + backoff(failures)));
      }
      // Shown, or refused for good (a permanent Slack error): done until its state changes again.
      this.viewFailures.delete(entry.member);
      return void (await outbox.rendered(entry));
    }
    const { post } = entry;
    const wait = async (ms: number, failed = false) => {
      const at = this.now() + ms;
      await outbox.holdChannel(post.channel, at);
      await outbox.later(entry, at, failed);
    };
    const attempt = async (): Promise<Rendered> => {
      const parent = post.parent ? await this.options.views[post.parent.kind].where(post.parent) : null;
      if (parent?.state === 'pending') return { result: 'wait', waitMs: 500 };
      return this.options.post(post, parent);
    };
    const outcome = await attempt().catch(this.retryOf(entry));
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
