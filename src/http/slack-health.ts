import { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boltLogger } from '../slack/bolt-logger.js';

export interface SlackHealthOptions {
  /** Asks Slack whether the bot token works (auth.test); throws when it cannot answer. */
  readonly authTest: () => Promise<unknown>;
  /** How old the last outcome may be before /readyz asks again. @defaultValue 5 s */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

export interface SlackStatus {
  readonly ok: boolean;
  readonly detail: string;
}

const reason = (error: unknown): string => {
  const original = (error as { original?: unknown }).original;
  if (original instanceof Error) return original.message;
  return error instanceof Error ? error.message : String(error);
};

/** Whether the Web API answers: the last outcome of auth.test, asked again when older than `maxAgeMs`. */
export class SlackHealth {
  private last: { readonly ok: boolean; readonly at: number; readonly detail: string } | null = null;
  private checking: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: SlackHealthOptions) {
    this.now = options.now ?? Date.now;
    this.maxAgeMs = options.maxAgeMs ?? 5000;
  }

  /** auth.test's outcome: null for success, else its error. */
  private record(error: unknown | null): void {
    this.last =
      error === null
        ? { ok: true, at: this.now(), detail: 'Web API answers' }
        : { ok: false, at: this.now(), detail: reason(error) };
  }

  /** auth.test now (concurrent callers share one request). */
  async check(): Promise<void> {
    this.checking ??= this.options
      .authTest()
      .then(
        () => this.record(null),
        (error: unknown) => this.record(error),
      )
      .finally(() => {
        this.checking = null;
      });
    await this.checking;
  }

  async status(): Promise<SlackStatus> {
    if (!this.last || this.now() - this.last.at > this.maxAgeMs) await this.check();
    const last = this.last;
    if (!last) return { ok: false, detail: 'down: never answered' };
    return last.ok ? { ok: true, detail: last.detail } : { ok: false, detail: `down: ${last.detail}` };
  }
}

/** auth.test through a client of its own: no retries, a short timeout, so /readyz answers quickly. */
export function slackAuthTest(config: Config, log: Logger): () => Promise<unknown> {
  const client = new webApi.WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: { retries: 0 },
    timeout: 2000,
    logger: boltLogger(log.child({ component: 'slack-health' })),
  });
  return () => client.auth.test();
}
