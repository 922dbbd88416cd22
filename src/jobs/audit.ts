import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type AuditEvent =
  | 'requested'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'queued'
  | 'started'
  | 'step'
  | 'finished'
  | 'failed'
  | 'cancelled'
  | 'refused'
  | 'acknowledged';

export interface AuditEntry {
  readonly id: string;
  readonly event: AuditEvent;
  readonly request: string;
  readonly cluster: string;
  readonly user: string;
  readonly at: number;
  readonly detail: string;
}

/** Who did what, when: a Redis stream trimmed to the retention (MINID), and the same line in the log. */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly retentionMs: number,
    private readonly log: Logger,
  ) {}

  async append(entry: Omit<AuditEntry, 'id' | 'at'>, now = Date.now()): Promise<void> {
    this.log.info(
      {
        audit: entry.event,
        request: entry.request,
        cluster: entry.cluster,
        user: entry.user,
        detail: entry.detail,
      },
      'audit',
    );
    await this.redis.xadd(
      this.key,
      'MINID',
      '~',
      String(Math.max(0, now - this.retentionMs)),
      '*',
      'event',
      entry.event,
      'request',
      entry.request,
      'cluster',
      entry.cluster,
      'user',
      entry.user,
      'detail',
      entry.detail,
    );
  }

  /** Oldest first; `cluster` filters. */
  async read(cluster?: string, count = 500): Promise<AuditEntry[]> {
    const rows = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count)) as [string, string[]][];
    return rows
      .map(([id, fields]) => {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
        return {
          id,
          event: f.event as AuditEvent,
          request: f.request ?? '',
          cluster: f.cluster ?? '',
          user: f.user ?? '',
          at: Number(id.split('-')[0]),
          detail: f.detail ?? '',
        };
      })
      .filter((e) => !cluster || e.cluster === cluster)
      .reverse();
  }
}
