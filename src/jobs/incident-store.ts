import type { ChainableCommander, Redis } from 'ioredis';
import type { AlertContext, Signal } from '../alerts/payloads.js';
import type { IncidentOwner, IncidentView } from './incident-view.js';

/** One open incident per cluster, as kept in the queue Redis. */
export interface Incident {
  readonly openedAt: number;
  /** The signal that opened it (older records have none). */
  readonly trigger?: Signal;
  /** Where its messages go (a name until the top message lands, then the ID Slack answered with). */
  readonly channel: string;
  /** The top message's ts, once it landed (read from the message record). */
  readonly ts: string | null;
  /** Its permalink, when Slack gave one. */
  readonly permalink?: string | null;
  readonly signature: readonly string[];
  /** What the top message shows, to render it again only when that changes. */
  readonly shown?: string;
  /** The alerts seen for it, newest first. */
  readonly alerts?: readonly AlertContext[];
  /** Alert notifications folded into its looks so far. */
  readonly alertsReceived?: number;
  /** The gaps and stuck slots the last slot map showed, to draw it again when they change. */
  readonly mapped?: string;
  readonly healthyTicks: number;
}

/** Where an incident's top message is and what it shows: kept after the incident closes, for the last render. */
export interface IncidentMessage {
  readonly view: IncidentView;
  readonly channel: string;
  readonly ts: string | null;
  /** When it landed (0: not yet). */
  readonly landedAt: number;
  /** The gaps the last slot map posted showed. */
  readonly mappedPosted: string | null;
}

/** How long a closed incident's message record stays (its last renders and thread posts need it). */
const MESSAGE_TTL_S = 7 * 24 * 3600;

/** The keys of incidents in the queue Redis; no decisions. */
export class IncidentStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(cluster: string): string {
    return `${this.prefix}:incident:${cluster}`;
  }

  ownerKey(cluster: string): string {
    return `${this.key(cluster)}:owner`;
  }

  messageKey(cluster: string, openedAt: number): string {
    return `${this.prefix}:incident-msg:${cluster}:${openedAt}`;
  }

  async record(cluster: string): Promise<Omit<Incident, 'ts'> | null> {
    const raw = await this.redis.get(this.key(cluster));
    return raw ? (JSON.parse(raw) as Omit<Incident, 'ts'>) : null;
  }

  async current(cluster: string): Promise<Incident | null> {
    const record = await this.record(cluster);
    if (!record) return null;
    const where = await this.redis.hmget(
      this.messageKey(cluster, record.openedAt),
      'channel',
      'ts',
      'permalink',
    );
    return {
      ...record,
      channel: where[0] ?? record.channel,
      ts: where[1] ?? null,
      permalink: where[2] ?? null,
    };
  }

  async message(cluster: string, openedAt: number): Promise<IncidentMessage | null> {
    const [view, channel, ts, mapped, landedAt] = await this.redis.hmget(
      this.messageKey(cluster, openedAt),
      'view',
      'channel',
      'ts',
      'mapped',
      'landedAt',
    );
    if (!view || !channel) return null;
    return {
      view: JSON.parse(view) as IncidentView,
      channel,
      ts: ts ?? null,
      landedAt: Number(landedAt ?? 0),
      mappedPosted: mapped ?? null,
    };
  }

  /** Writes the record in a transaction (null: the incident closed). */
  recordIn(
    multi: ChainableCommander,
    cluster: string,
    record: Omit<Incident, 'ts'> | null,
  ): ChainableCommander {
    if (record === null) return multi.del(this.key(cluster), this.ownerKey(cluster));
    const { ts: _ts, permalink: _permalink, ...kept } = record as Incident;
    return multi.set(this.key(cluster), JSON.stringify(kept));
  }

  /** Stores what the top message should show (its channel only until it has landed). */
  viewIn(multi: ChainableCommander, view: IncidentView, channel: string): ChainableCommander {
    const key = this.messageKey(view.cluster, view.openedAt);
    return multi
      .hset(key, 'view', JSON.stringify(view))
      .hsetnx(key, 'channel', channel)
      .expire(key, MESSAGE_TTL_S);
  }

  /** The top message landed: where (the channel as an ID). */
  async landed(cluster: string, openedAt: number, channel: string, ts: string, at: number): Promise<void> {
    await this.redis.hset(this.messageKey(cluster, openedAt), 'channel', channel, 'ts', ts, 'landedAt', at);
  }

  async permalink(cluster: string, openedAt: number, permalink: string): Promise<void> {
    await this.redis.hset(this.messageKey(cluster, openedAt), 'permalink', permalink);
  }

  async mapPosted(cluster: string, openedAt: number, mapped: string): Promise<void> {
    await this.redis.hset(this.messageKey(cluster, openedAt), 'mapped', mapped);
  }

  async owner(cluster: string): Promise<IncidentOwner | null> {
    const raw = await this.redis.get(this.ownerKey(cluster));
    return raw ? (JSON.parse(raw) as IncidentOwner) : null;
  }
}
