import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';

type SocketModeClient = SocketModeReceiver['client'];

/** apps.connections.open errors no retry can fix (Slack's list, plus a token of the wrong kind). */
const REFUSED_TOKEN = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'user_removed_from_team',
  'team_disabled',
  'not_allowed_token_type',
]);

const refusedToken = (error: unknown): boolean =>
  REFUSED_TOKEN.has(String((error as { data?: { error?: unknown } } | undefined)?.data?.error));

export interface SocketConnectionOptions {
  /** Delay before the second reconnect attempt (the first one after a drop is immediate). @defaultValue 1 s */
  readonly minDelayMs?: number;
  /** Longest delay between attempts. @defaultValue 30 s */
  readonly maxDelayMs?: number;
}

/**
 * Keeps a Socket Mode client connected: knows whether the socket is up (`hello` received, not closed since),
 * and after a drop, a refresh or a failed apps.connections.open reconnects with exponential backoff (with
 * jitter) until it is back or `stop()` is called. The client's own reconnect must be off.
 */
export class SocketConnection {
  private up = false;
  private stopping = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | null = null;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly client: SocketModeClient,
    private readonly log: Logger,
    options: SocketConnectionOptions = {},
  ) {
    this.minDelayMs = options.minDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    client.on('connected', () => {
      if (!this.up && this.attempt > 0) this.log.info({ attempts: this.attempt }, 'slack socket reconnected');
      this.up = true;
      this.attempt = 0;
    });
    client.on('disconnected', () => {
      const wasUp = this.up;
      this.up = false;
      if (this.stopping) return;
      if (wasUp) this.log.warn({}, 'slack socket closed; reconnecting');
      this.schedule();
    });
  }

  get connected(): boolean {
    return this.up;
  }

  /**
   * The first connection. A token Slack refuses fails the start; anything else (Slack or the network down) is
   * retried in the background like a drop, and the caller starts not connected.
   */
  async start(): Promise<void> {
    this.stopping = false;
    try {
      await this.client.start();
    } catch (error) {
      if (refusedToken(error)) throw error;
      this.log.warn({ err: error }, 'slack socket not connected at start; retrying');
      this.schedule();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.up = false;
    await this.client.disconnect();
  }

  private schedule(): void {
    if (this.timer || this.connecting || this.stopping) return;
    const backoff = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** (this.attempt - 1));
    const delay = this.attempt === 0 ? 0 : Math.round(backoff * (0.5 + Math.random() / 2));
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connecting = this.reconnect().finally(() => {
        this.connecting = null;
        if (!this.up) this.schedule();
      });
    }, delay);
  }

  /** One attempt; never rejects (it runs from a timer, where nobody would handle it). */
  private async reconnect(): Promise<void> {
    try {
      await this.client.start();
    } catch (error) {
      this.log.warn({ err: error, attempt: this.attempt }, 'slack socket reconnect failed');
      return;
    }
    // A reconnect that finished after stop() began must not leave a socket open.
    if (!this.stopping) return;
    await this.client.disconnect().catch((error: unknown) => {
      this.log.warn({ err: error }, 'slack socket close after stop failed');
    });
  }
}
