import type { Logger } from 'pino';
import type { SlackBudget } from './slack-budget.js';
import { isPermanent, type SlackProblems } from './slack-problems.js';

/** One Web API call's outcome, as a value: the renderer decides what to do next from its kind. */
export type CallOutcome<T> =
  | { readonly ok: true; readonly value: T }
  /** Not sent (our budget or Slack's Retry-After): try again after `waitMs`. */
  | { readonly ok: false; readonly kind: 'wait'; readonly waitMs: number; readonly error: string }
  /** Sent and failed in a way a later try may not (timeout, 5xx, network). */
  | { readonly ok: false; readonly kind: 'transient'; readonly error: string }
  /** Slack refused it for good until a person fixes something (logged once with the fix). */
  | { readonly ok: false; readonly kind: 'permanent'; readonly error: string };

export type CallResult = 'ok' | 'rate_limited' | 'deferred' | 'timeout' | 'transient' | 'permanent';

export interface SlackCallsOptions {
  readonly budget: SlackBudget | null;
  readonly problems: SlackProblems;
  readonly log: Logger;
  /** Counts each call by method and result (the metric slotwatch_slack_calls_total). */
  readonly count?: (method: string, result: CallResult, error?: string) => void;
  /** Longest one call may take, whatever the client does. @defaultValue 10 s */
  readonly timeoutMs?: number;
}

interface SlackErrorShape {
  code?: string;
  retryAfter?: number;
  data?: { error?: string; needed?: string };
  original?: unknown;
  statusCode?: number;
  name?: string;
  message?: string;
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Every Web API call of the render path goes through here: it takes its turn in the shared budget (per method,
 * per channel, and Retry-After after a 429), is bounded in time, and comes back as a value, never a throw.
 */
export class SlackCalls {
  private readonly timeoutMs: number;

  constructor(private readonly options: SlackCallsOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  get problems(): SlackProblems {
    return this.options.problems;
  }

  async call<T>(method: string, channel: string | null, send: () => Promise<T>): Promise<CallOutcome<T>> {
    const { budget, log } = this.options;
    const count = this.options.count ?? (() => {});
    if (budget) {
      // A queue Redis that does not answer must not stop Slack posts: the call goes, Slack's 429 still guards.
      const waitMs = await budget.take(method, channel).catch((error: unknown) => {
        log.debug({ err: text(error), method }, 'Slack budget unreadable: calling without it');
        return 0;
      });
      if (waitMs > 0) {
        count(method, 'deferred');
        return { ok: false, kind: 'wait', waitMs, error: 'over budget' };
      }
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        send(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CallTimeout(this.timeoutMs)), this.timeoutMs);
        }),
      ]);
      count(method, 'ok');
      this.options.problems.cleared(method, channel);
      return { ok: true, value };
    } catch (error) {
      return this.failed(method, channel, error, count);
    } finally {
      clearTimeout(timer);
    }
  }

  private async failed<T>(
    method: string,
    channel: string | null,
    error: unknown,
    count: (method: string, result: CallResult, error?: string) => void,
  ): Promise<CallOutcome<T>> {
    const e = (error ?? {}) as SlackErrorShape;
    if (e.code === 'slack_webapi_rate_limited_error') {
      const waitMs = Math.max(1, e.retryAfter ?? 1) * 1000;
      count(method, 'rate_limited');
      this.options.log.warn({ method, channel, retryAfterS: waitMs / 1000 }, 'Slack rate-limited a call');
      await this.options.budget?.block(method, waitMs).catch(() => {});
      return { ok: false, kind: 'wait', waitMs, error: 'ratelimited' };
    }
    const platform = e.code === 'slack_webapi_platform_error' ? (e.data?.error ?? 'unknown') : null;
    if (platform && (isPermanent(platform) || platform === 'ratelimited')) {
      if (platform === 'ratelimited') {
        count(method, 'rate_limited');
        await this.options.budget?.block(method, 1000).catch(() => {});
        return { ok: false, kind: 'wait', waitMs: 1000, error: platform };
      }
      count(method, 'permanent', platform);
      this.options.problems.report(method, platform, channel, e.data?.needed ?? null);
      return { ok: false, kind: 'permanent', error: platform };
    }
    const timedOut =
      error instanceof CallTimeout ||
      (e.original as { name?: string } | undefined)?.name === 'TimeoutError' ||
      /aborted|timeout/i.test(text(e.original ?? ''));
    count(method, timedOut ? 'timeout' : 'transient');
    const why = platform ?? (timedOut ? `no answer within ${this.timeoutMs} ms` : text(error));
    this.options.log.warn({ method, channel, err: why }, 'Slack call failed: it is tried again');
    return { ok: false, kind: 'transient', error: why };
  }
}

class CallTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}
