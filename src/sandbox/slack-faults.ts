import type { ServerResponse } from 'node:http';

/** How the local Slack misbehaves for a Web API call. */
export type SlackFault =
  /** Holds the request open: until `ms` have passed (then answers normally), else until the faults are cleared. */
  | { readonly kind: 'hang'; readonly ms?: number }
  /** HTTP 429 with `Retry-After`, body `{ok:false,error:'ratelimited'}`. */
  | { readonly kind: 'rate-limited'; readonly retryAfterSec: number }
  /** HTTP 200 with `{ok:false,error}`, e.g. `not_in_channel`, `invalid_auth`, `missing_scope`. */
  | { readonly kind: 'error'; readonly error: string };

export interface FaultRule {
  /** A Web API method like `chat.update`, or `*` for every one but apps.connections.open and auth.test. */
  readonly method: string;
  /** Only calls whose `channel` or `channel_id` equals this. */
  readonly channel?: string;
  readonly fault: SlackFault;
  /** How many matching calls it applies to before it is spent. @defaultValue forever */
  readonly times?: number;
}

/** Slack's body for an error; missing_scope also says which scope was needed, as Slack does. */
export const errorBody = (error: string): Record<string, unknown> =>
  error === 'missing_scope'
    ? { ok: false, error, needed: 'chat:write', provided: 'commands' }
    : { ok: false, error };

/** Reached only by a rule that names them, so Socket Mode and readiness tests still choose. */
const NAMED_ONLY = new Set(['apps.connections.open', 'auth.test']);

const matches = (rule: FaultRule, method: string, body: Record<string, unknown>): boolean =>
  (rule.method === method || (rule.method === '*' && !NAMED_ONLY.has(method))) &&
  (rule.channel === undefined || body.channel === rule.channel || body.channel_id === rule.channel);

/** Faults set at runtime on the local Slack, and the requests they hold open. */
export class SlackFaults {
  private rules: { readonly rule: FaultRule; left: number }[] = [];
  private readonly hung = new Set<ServerResponse>();

  /** Adds a rule; for a call that several match, the latest wins. */
  set(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  /** Forgets every rule and drops every hung request's connection. */
  clear(): void {
    this.rules = [];
    this.release();
  }

  /** Drops every hung request's connection, as a connection lost on the way. */
  release(): void {
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  /** The fault for this call, if any, spending one use of the rule that gives it. */
  take(method: string, body: Record<string, unknown>): SlackFault | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const entry = this.rules[i];
      if (!entry || entry.left <= 0 || !matches(entry.rule, method, body)) continue;
      entry.left--;
      if (entry.left <= 0) this.rules.splice(i, 1);
      return entry.rule.fault;
    }
    return undefined;
  }

  /** Holds `res` open: true once `ms` have passed, false when released or the client went away. */
  hold(res: ServerResponse, ms?: number): Promise<boolean> {
    this.hung.add(res);
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => done(true), ms);
      const done = (elapsed: boolean) => {
        clearTimeout(timer);
        this.hung.delete(res);
        res.off('close', closed);
        resolve(elapsed);
      };
      const closed = () => done(false);
      res.on('close', closed);
    });
  }
}
