/** At most `max` calls in any sliding window of `windowMs`, counted per `key`. */
interface Limit {
  readonly key: string;
  readonly max: number;
  readonly windowMs: number;
}

const MINUTE = 60_000;

/** The limits a call of `method` counts against (`channel`: where it posts, its ID). */
function limitsOf(method: string, channel: string | undefined): Limit[] {
  switch (method) {
    case 'chat.update':
      return [{ key: method, max: 50, windowMs: MINUTE }];
    case 'chat.postMessage':
      return [
        { key: `${method} ${channel ?? ''}`, max: 1, windowMs: 1000 },
        { key: method, max: 100, windowMs: MINUTE },
      ];
    case 'files.getUploadURLExternal':
    case 'files.completeUploadExternal':
    case 'views.publish':
    case 'usergroups.users.list':
    case 'chat.getPermalink':
    case 'conversations.info':
      return [{ key: method, max: 100, windowMs: MINUTE }];
    default:
      return [];
  }
}

export interface SlackLimitsOptions {
  /** @defaultValue Date.now */
  readonly now?: () => number;
}

/**
 * Slack's rate limits for the methods the bot calls, as sliding windows: chat.update 50/min (Tier 3),
 * chat.postMessage 1/s per channel and 100/min, uploads and views.publish 100/min (Tier 4), lookups 100/min.
 */
export class SlackLimits {
  private readonly calls = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(options: SlackLimitsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Counts the call and answers 0, or refuses it (uncounted) with the whole seconds until a slot frees. */
  take(method: string, channel?: string): number {
    const now = this.now();
    const limits = limitsOf(method, channel);
    let waitMs = 0;
    for (const limit of limits) {
      const recent = this.recent(limit, now);
      const oldest = recent[recent.length - limit.max];
      if (oldest !== undefined) waitMs = Math.max(waitMs, oldest + limit.windowMs - now);
    }
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    for (const limit of limits) this.recent(limit, now).push(now);
    return 0;
  }

  /** The calls still inside the window of `limit`, oldest first (older ones are forgotten). */
  private recent(limit: Limit, now: number): number[] {
    const kept = (this.calls.get(limit.key) ?? []).filter((at) => at > now - limit.windowMs);
    this.calls.set(limit.key, kept);
    return kept;
  }
}
