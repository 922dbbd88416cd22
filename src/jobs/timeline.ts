import type { Redis } from 'ioredis';
import type { Signal } from '../alerts/payloads.js';
import { countSlots, formatRanges } from '../core/slot-ranges.js';
import type { AuditLog } from './audit.js';
import type { MasterKeys, RepairRequest, RequestEvent, RequestStore } from './requests.js';

/** The incident a timeline is about, as the incident service knows it. */
export interface IncidentRef {
  readonly cluster: string;
  readonly openedAt: number;
  readonly channel: string;
  readonly ts: string | null;
  readonly trigger: Signal;
  readonly recoveredAt: number | null;
}

export type TimelineEventType =
  | 'detected'
  | 'posted'
  | 'acknowledged'
  | 'requested'
  | 'approved'
  | 'rejected'
  | 'queued'
  | 'started'
  | 'resumed'
  | 'step-started'
  | 'step-finished'
  | 'step-skipped'
  | 'step-failed'
  | 'cancel-asked'
  | 'cancelled'
  | 'expired'
  | 'finished'
  | 'failed'
  | 'stale'
  | 'recovered';

/** One moment of the incident. Times are ISO 8601 UTC; `user` is a Slack user id or null for Slotwatch. */
export interface TimelineEvent {
  readonly at: string;
  readonly type: TimelineEventType;
  readonly user: string | null;
  readonly request: string | null;
  readonly step: number | null;
  readonly detail: string;
}

/** What one repair request did, and what it measured. */
export interface TimelineRepair {
  readonly id: string;
  readonly option: { readonly id: string; readonly title: string; readonly risk: 'safe' | 'data-loss' };
  readonly requester: string;
  readonly approvals: readonly { readonly user: string; readonly at: string }[];
  readonly status: string;
  readonly outcome: string | null;
  readonly steps: { readonly total: number; readonly finished: number };
  /** The option's stated loss (keys last seen; null when nobody could count them), and who alone held them. */
  readonly loss: {
    readonly slots: string;
    readonly slotCount: number;
    readonly keys: number | null;
    readonly holders: readonly string[];
    readonly description: string;
  } | null;
  /** DBSIZE of every master before and after the run (null: it did not answer). */
  readonly dbsize: {
    readonly before: number | null;
    readonly after: number | null;
    readonly masters: readonly MasterKeys[];
  } | null;
  readonly slotsCovered: { readonly before: number | null; readonly after: number | null } | null;
}

/** The postmortem's raw material: the shape is documented in docs/timeline.md (version 1). */
export interface Timeline {
  readonly version: 1;
  readonly cluster: string;
  readonly incident: {
    readonly id: string;
    readonly channel: string;
    readonly ts: string | null;
    readonly openedAt: string;
    readonly recoveredAt: string | null;
    readonly trigger: { readonly source: string; readonly status: string; readonly summary: string };
  };
  readonly events: readonly TimelineEvent[];
  readonly repairs: readonly TimelineRepair[];
  /** Keys and slots given up by data-loss repairs that ran; keys null when any of them could not be counted. */
  readonly dataLoss: {
    readonly keys: number | null;
    readonly slots: string;
    readonly repairs: readonly string[];
  };
}

export const incidentId = (openedAt: number): string => `incident-${openedAt}`;

const iso = (ms: number) => new Date(ms).toISOString();

const REQUEST_EVENTS: Readonly<Record<string, TimelineEventType>> = {
  approved: 'approved',
  rejected: 'rejected',
  claimed: 'started',
  resumed: 'resumed',
  'step-started': 'step-started',
  'step-finished': 'step-finished',
  'step-skipped': 'step-skipped',
  'step-failed': 'step-failed',
  'cancel-asked': 'cancel-asked',
  cancelled: 'cancelled',
  expired: 'expired',
  done: 'finished',
  failed: 'failed',
  stale: 'stale',
  retired: 'stale',
};

function requestEvents(r: RepairRequest, events: readonly RequestEvent[]): TimelineEvent[] {
  const out: TimelineEvent[] = [
    {
      at: iso(r.createdAt),
      type: 'requested',
      user: r.requester,
      request: r.id,
      step: null,
      detail: `${r.option.title} (${r.option.id}, ${r.option.risk})`,
    },
  ];
  const add = (e: RequestEvent, type: TimelineEventType, detail = e.detail) =>
    out.push({
      at: iso(e.at),
      type,
      user: e.user === 'slotwatch' ? null : e.user,
      request: r.id,
      step: e.step,
      detail,
    });
  for (const e of events) {
    // The deciding vote is one event: it approves and queues at once.
    if (e.event === 'queued') {
      add(e, 'approved', `${r.required}/${r.required}`);
      add({ ...e, user: 'slotwatch' }, 'queued', 'approvals complete: handed to the repair queue');
      continue;
    }
    const type = REQUEST_EVENTS[e.event];
    if (type) add(e, type);
  }
  return out;
}

function repairOf(r: RepairRequest): TimelineRepair {
  const sum = (pick: (m: MasterKeys) => number | null) =>
    r.result?.masters.reduce<number | null>(
      (n, m) => (pick(m) === null ? n : (n ?? 0) + (pick(m) ?? 0)),
      null,
    ) ?? null;
  return {
    id: r.id,
    option: { id: r.option.id, title: r.option.title, risk: r.option.risk },
    requester: r.requester,
    approvals: r.approvals.map((v) => ({ user: v.user, at: iso(v.at) })),
    status: r.status,
    outcome: r.outcome,
    steps: { total: r.option.steps.length, finished: r.finished.length },
    loss: r.option.loss
      ? {
          slots: formatRanges(r.option.loss.slots),
          slotCount: countSlots(r.option.loss.slots),
          keys: r.option.loss.keys,
          holders: r.lossHolders,
          description: r.option.loss.description,
        }
      : null,
    dbsize: r.result
      ? { before: sum((m) => m.before), after: sum((m) => m.after), masters: r.result.masters }
      : null,
    slotsCovered: r.result ? { before: r.result.slotsBefore, after: r.result.slotsAfter } : null,
  };
}

/** Data-loss repairs count once any of their steps ran: forgetting a dead master already gives its keys up. */
function dataLossOf(requests: readonly RepairRequest[]): Timeline['dataLoss'] {
  const ran = requests.filter((r) => r.option.risk === 'data-loss' && r.option.loss && r.finished.length > 0);
  const keys = ran.some((r) => r.option.loss?.keys === null)
    ? null
    : ran.reduce((n, r) => n + (r.option.loss?.keys ?? 0), 0);
  return {
    keys,
    slots: formatRanges(ran.flatMap((r) => r.option.loss?.slots ?? [])),
    repairs: ran.map((r) => r.id),
  };
}

export interface TimelineOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly store: RequestStore;
  readonly audit: AuditLog;
  /** How long the last timeline of each cluster stays readable (default 30 days). */
  readonly keepMs?: number;
}

/** Builds an incident's timeline from its record, the audit stream and its repair requests' events. */
export class Timelines {
  constructor(private readonly options: TimelineOptions) {}

  async build(incident: IncidentRef): Promise<Timeline> {
    const id = incidentId(incident.openedAt);
    const until = incident.recoveredAt ?? Number.POSITIVE_INFINITY;
    const requests = (await this.options.store.recent(100))
      .filter((r) => r.cluster === incident.cluster)
      .filter(
        (r) =>
          (incident.ts !== null && r.incident?.ts === incident.ts) ||
          (r.createdAt >= incident.openedAt && r.createdAt <= until),
      )
      .sort((a, b) => a.createdAt - b.createdAt);
    const acks = (await this.options.audit.read(incident.cluster, 2000)).filter(
      (e) => e.event === 'acknowledged' && e.request === id,
    );
    const postedAt = incident.ts ? Math.round(Number(incident.ts) * 1000) : null;
    const { source, status, summary } = incident.trigger;
    const events: TimelineEvent[] = [
      {
        at: iso(incident.openedAt),
        type: 'detected',
        user: null,
        request: null,
        step: null,
        detail: `${source} ${status}${summary && summary !== `${source} ${status}` ? `: ${summary}` : ''}`,
      },
      ...(postedAt && Number.isFinite(postedAt)
        ? [
            {
              at: iso(Math.max(postedAt, incident.openedAt)),
              type: 'posted' as const,
              user: null,
              request: null,
              step: null,
              detail: `top message in ${incident.channel}`,
            },
          ]
        : []),
      ...acks.map((e) => ({
        at: iso(e.at),
        type: 'acknowledged' as const,
        user: e.user,
        request: null,
        step: null,
        detail: e.detail,
      })),
    ];
    for (const r of requests) events.push(...requestEvents(r, await this.options.store.events(r.id)));
    if (incident.recoveredAt !== null)
      events.push({
        at: iso(incident.recoveredAt),
        type: 'recovered',
        user: null,
        request: null,
        step: null,
        detail: 'cluster_state ok on every node, every slot covered, twice in a row',
      });
    return {
      version: 1,
      cluster: incident.cluster,
      incident: {
        id,
        channel: incident.channel,
        ts: incident.ts,
        openedAt: iso(incident.openedAt),
        recoveredAt: incident.recoveredAt === null ? null : iso(incident.recoveredAt),
        trigger: { source, status, summary },
      },
      events: events
        .map((e, i) => ({ e, i }))
        .sort((a, b) => a.e.at.localeCompare(b.e.at) || a.i - b.i)
        .map((x) => x.e),
      repairs: requests.map(repairOf),
      dataLoss: dataLossOf(requests),
    };
  }

  /** Whether a repair of the cluster is queued or running now. */
  async repairRunning(cluster: string): Promise<boolean> {
    const recent = await this.options.store.recent(50);
    return recent.some((r) => r.cluster === cluster && ['queued', 'running'].includes(r.status));
  }

  private key(cluster: string): string {
    return `${this.options.prefix}:timeline:${cluster}`;
  }

  /** Keeps the cluster's last closed incident's timeline, for `/redis timeline` after recovery. */
  async keep(timeline: Timeline): Promise<void> {
    await this.options.redis.set(
      this.key(timeline.cluster),
      JSON.stringify(timeline),
      'PX',
      this.options.keepMs ?? 30 * 86_400_000,
    );
  }

  async last(cluster: string): Promise<Timeline | null> {
    const raw = await this.options.redis.get(this.key(cluster));
    return raw ? (JSON.parse(raw) as Timeline) : null;
  }
}
