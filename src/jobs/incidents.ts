import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import type { Report } from '../core/report.js';
import { formatRanges } from '../core/slot-ranges.js';

/** One thing whose state moved between two looks, e.g. `gap 0-5460` from `owner-unreachable` to `owner-failed`. */
export interface IncidentTransition {
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly direction: 'worse' | 'better' | 'changed';
}

/** What changed in an open incident, and the signal that made the bot look. */
export interface IncidentChange {
  readonly trigger: Signal;
  readonly added: readonly string[];
  readonly gone: readonly string[];
  readonly changed: readonly IncidentTransition[];
}

export interface IncidentOwner {
  readonly user: string;
  readonly at: number;
}

/** Everything the top message shows; the poster renders it. */
export interface IncidentView {
  readonly cluster: string;
  readonly report: Report | null;
  readonly problem: string;
  readonly trigger: Signal;
  readonly openedAt: number;
  readonly now: number;
  readonly owner: IncidentOwner | null;
  /** Set once the cluster has been healthy twice in a row. */
  readonly recoveredAfterMinutes: number | null;
}

/** How incidents reach people (the Slack adapter implements it and escapes every outside text). */
export interface IncidentPoster {
  /** Posts the incident's top message; returns where it landed (the channel as an ID, even when named). */
  open(channel: string, view: IncidentView): Promise<{ ts: string; channel: string } | null>;
  /** Edits the top message to the current view. */
  update(channel: string, ts: string, view: IncidentView): Promise<void>;
  reply(channel: string, ts: string, change: IncidentChange): Promise<void>;
  recovered(channel: string, ts: string, view: IncidentView): Promise<void>;
}

interface Incident {
  readonly openedAt: number;
  /** The signal that opened it (older records have none). */
  readonly trigger?: Signal;
  readonly channel: string;
  readonly ts: string | null;
  readonly signature: readonly string[];
  /** What the top message shows, to edit it only when that changes. */
  readonly shown?: string;
  readonly healthyTicks: number;
}

const nodeName = (n: { address: string | null; id: string }) => n.address ?? n.id.slice(0, 8);

/** What makes two reports "the same incident state": cluster_state, gaps, dead or unreachable nodes, stuck slots. */
export function signatureOf(report: Report | null, problem: string): string[] {
  if (!report) return [`unreachable: ${problem}`];
  const states = report.nodes.filter((n) => n.reachable).map((n) => n.clusterState);
  const clusterState = states.includes('fail') ? 'fail' : states.includes('ok') ? 'ok' : null;
  return [
    ...(clusterState ? [`cluster_state ${clusterState}`] : []),
    ...report.slots.gaps.map((g) => `gap ${formatRanges([[g.start, g.end]])} ${g.reason}`),
    ...report.nodes.filter((n) => n.flags.includes('fail')).map((n) => `node ${nodeName(n)} FAIL`),
    ...report.nodes
      .filter((n) => !n.reachable && !n.flags.includes('fail'))
      .map((n) => `node ${nodeName(n)} unreachable`),
    ...report.openSlots.filter((o) => !o.live).map((o) => `slot ${o.slot} ${o.state}`),
  ].sort();
}

/** How bad each state word is, so a move from one to another reads as worse or better. */
const BADNESS: Readonly<Record<string, number>> = {
  ok: 0,
  migrating: 1,
  importing: 1,
  unreachable: 1,
  'owner-unreachable': 1,
  'owner-failed': 2,
  unassigned: 2,
  FAIL: 2,
  fail: 2,
};

const split = (entry: string) => {
  const at = entry.lastIndexOf(' ');
  return { subject: entry.slice(0, at), state: entry.slice(at + 1) };
};

/** The difference between two signatures: the same subject in another state is a transition, not new + cleared. */
export function diffSignatures(
  before: readonly string[],
  after: readonly string[],
): Pick<IncidentChange, 'added' | 'gone' | 'changed'> {
  const added = after.filter((s) => !before.includes(s));
  const gone = before.filter((s) => !after.includes(s));
  const changed: IncidentTransition[] = [];
  for (const entry of added) {
    const now = split(entry);
    const old = gone.find((g) => split(g).subject === now.subject);
    if (!old) continue;
    const from = split(old).state;
    const delta = (BADNESS[now.state] ?? 1) - (BADNESS[from] ?? 1);
    changed.push({
      subject: now.subject,
      from,
      to: now.state,
      direction: delta > 0 ? 'worse' : delta < 0 ? 'better' : 'changed',
    });
  }
  const moved = new Set(changed.map((c) => c.subject));
  return {
    added: added.filter((s) => !moved.has(split(s).subject)),
    gone: gone.filter((s) => !moved.has(split(s).subject)),
    changed,
  };
}

/** The parts of a report the top message shows: when these change, the message is edited. */
export function shownOf(report: Report | null, problem: string): string {
  if (!report) return `unreachable ${problem}`;
  return JSON.stringify([
    signatureOf(report, problem),
    report.slots.covered,
    report.findings.map((f) => `${f.severity} ${f.code} ${[...f.nodes].sort().join(',')}`).sort(),
  ]);
}

const healthy = (report: Report | null) =>
  report !== null && report.state === 'ok' && report.slots.uncovered === 0;

export interface IncidentOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly clusters: readonly ClusterConfig[];
  readonly alertChannel: string | null;
  readonly diagnose: DiagnoseCluster;
  readonly poster: IncidentPoster;
  readonly log: Logger;
  /** Records who acknowledged an incident (the repair audit log). */
  readonly audit?: (entry: {
    cluster: string;
    incident: string;
    user: string;
    detail: string;
  }) => Promise<void>;
  readonly now?: () => number;
}

export type AcknowledgeResult =
  | { readonly result: 'none' }
  | { readonly result: 'acknowledged'; readonly previous: IncidentOwner | null };

/** One open incident per cluster, in the queue Redis: opened on trouble, threaded on change, closed after two healthy looks. */
export class IncidentService {
  private readonly now: () => number;

  constructor(private readonly options: IncidentOptions) {
    this.now = options.now ?? Date.now;
  }

  private key(cluster: string): string {
    return `${this.options.prefix}:incident:${cluster}`;
  }

  async silence(cluster: string, ms: number): Promise<void> {
    await this.options.redis.set(
      `${this.options.prefix}:silence:${cluster}`,
      String(this.now() + ms),
      'PX',
      ms,
    );
  }

  async unsilence(cluster: string): Promise<void> {
    await this.options.redis.del(`${this.options.prefix}:silence:${cluster}`);
  }

  async silencedUntil(cluster: string): Promise<number | null> {
    const until = await this.options.redis.get(`${this.options.prefix}:silence:${cluster}`);
    return until ? Number(until) : null;
  }

  private ownerKey(cluster: string): string {
    return `${this.key(cluster)}:owner`;
  }

  async owner(cluster: string): Promise<IncidentOwner | null> {
    const raw = await this.options.redis.get(this.ownerKey(cluster));
    return raw ? (JSON.parse(raw) as IncidentOwner) : null;
  }

  /** "I'm on it": records who owns the open incident (audited), then edits the top message to show it. */
  async acknowledge(cluster: string, user: string): Promise<AcknowledgeResult> {
    const incident = await this.current(cluster);
    if (!incident) return { result: 'none' };
    const previous = await this.owner(cluster);
    await this.options.redis.set(this.ownerKey(cluster), JSON.stringify({ user, at: this.now() }));
    await this.options.audit?.({
      cluster,
      incident: `incident-${incident.openedAt}`,
      user,
      detail:
        previous && previous.user !== user ? `took the incident over from ${previous.user}` : "I'm on it",
    });
    const config = this.options.clusters.find((c) => c.name === cluster);
    if (config && incident.ts) {
      const result = await this.options.diagnose(config);
      const report = result.ok ? result.value : null;
      const problem = result.ok ? '' : result.error.message;
      const trigger = incident.trigger ?? { cluster, source: 'monitor', status: 'tick', summary: '' };
      await this.options.poster.update(
        incident.channel,
        incident.ts,
        await this.view(cluster, incident.openedAt, report, problem, trigger),
      );
    }
    return { result: 'acknowledged', previous };
  }

  private async view(
    cluster: string,
    openedAt: number,
    report: Report | null,
    problem: string,
    trigger: Signal,
    recoveredAfterMinutes: number | null = null,
  ): Promise<IncidentView> {
    return {
      cluster,
      report,
      problem,
      trigger,
      openedAt,
      now: this.now(),
      owner: await this.owner(cluster),
      recoveredAfterMinutes,
    };
  }

  async current(cluster: string): Promise<Incident | null> {
    const raw = await this.options.redis.get(this.key(cluster));
    return raw ? (JSON.parse(raw) as Incident) : null;
  }

  /** Looks at the cluster because of `signal`; posts only when that tells people something new. */
  async handle(signal: Signal): Promise<void> {
    const cluster = this.options.clusters.find((c) => c.name === signal.cluster);
    if (!cluster) return;
    const log = this.options.log.child({ cluster: cluster.name, source: signal.source });
    if (await this.silencedUntil(cluster.name)) return;
    const result = await this.options.diagnose(cluster);
    const report = result.ok ? result.value : null;
    const problem = result.ok ? '' : result.error.message;
    const incident = await this.current(cluster.name);
    const channel = cluster.channel ?? this.options.alertChannel;
    if (!channel) {
      log.warn({}, 'no channel for this cluster (set its channel or ALERT_CHANNEL): incident not posted');
      return;
    }
    const signature = signatureOf(report, problem);
    const shown = shownOf(report, problem);
    if (!incident) {
      if (healthy(report)) return;
      const openedAt = this.now();
      await this.options.redis.del(this.ownerKey(cluster.name));
      const posted = await this.options.poster.open(
        channel,
        await this.view(cluster.name, openedAt, report, problem, signal),
      );
      const opened: Incident = {
        openedAt,
        trigger: signal,
        channel: posted?.channel ?? channel,
        ts: posted?.ts ?? null,
        signature,
        shown,
        healthyTicks: 0,
      };
      await this.options.redis.set(this.key(cluster.name), JSON.stringify(opened));
      log.info({ ts: opened.ts, signal: signal.summary }, 'incident opened');
      return;
    }
    if (healthy(report) && report) {
      const ticks = incident.healthyTicks + 1;
      if (ticks < 2) {
        await this.options.redis.set(
          this.key(cluster.name),
          JSON.stringify({ ...incident, healthyTicks: ticks, signature }),
        );
        return;
      }
      const minutes = Math.max(1, Math.round((this.now() - incident.openedAt) / 60_000));
      if (incident.ts)
        await this.options.poster.recovered(
          incident.channel,
          incident.ts,
          await this.view(
            cluster.name,
            incident.openedAt,
            report,
            problem,
            incident.trigger ?? signal,
            minutes,
          ),
        );
      await this.options.redis.del(this.key(cluster.name), this.ownerKey(cluster.name));
      log.info({ minutes }, 'incident closed');
      return;
    }
    const change = diffSignatures(incident.signature, signature);
    if (incident.ts) {
      if (change.added.length + change.gone.length + change.changed.length > 0)
        await this.options.poster.reply(incident.channel, incident.ts, { trigger: signal, ...change });
      if (shown !== incident.shown)
        await this.options.poster.update(
          incident.channel,
          incident.ts,
          await this.view(cluster.name, incident.openedAt, report, problem, incident.trigger ?? signal),
        );
    }
    await this.options.redis.set(
      this.key(cluster.name),
      JSON.stringify({ ...incident, signature, shown, healthyTicks: 0 }),
    );
  }
}
