import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MAX_ALERTS_PER_SIGNAL, mergeAlerts } from '../alerts/context.js';
import type { AlertContext, Signal } from '../alerts/payloads.js';
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

/** The first slot and last slot of a signature entry like `gap 0-5460 owner-failed`, or null for other entries. */
const gapRange = (entry: string): { start: number; end: number; reason: string } | null => {
  const m = /^gap (\d+)(?:-(\d+))? (\S+)$/.exec(entry);
  if (!m) return null;
  const start = Number(m[1]);
  return { start, end: m[2] === undefined ? start : Number(m[2]), reason: m[3] ?? '' };
};

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
  /** The alerts seen for this incident, newest first (firing or resolved since). */
  readonly alerts: readonly AlertContext[];
  /** Set once the cluster has been healthy twice in a row. */
  readonly recoveredAfterMinutes: number | null;
}

/** How incidents reach people (the Slack adapter implements it and escapes every outside text). */
export interface IncidentPoster {
  /** Posts the incident's top message; returns where it landed (the channel as an ID, even when named). */
  open(channel: string, view: IncidentView): Promise<{ ts: string; channel: string } | null>;
  /** Edits the top message to the current view. */
  update(channel: string, ts: string, view: IncidentView): Promise<void>;
  /** Draws the slot map again into the thread (the gaps changed since the last one). */
  slotMap(channel: string, ts: string, view: IncidentView): Promise<void>;
  /** Tells the thread what changed; `view` is where things stand now. */
  reply(channel: string, ts: string, change: IncidentChange, view: IncidentView): Promise<void>;
  recovered(channel: string, ts: string, view: IncidentView): Promise<void>;
  /** An alert fired while the cluster looks healthy: a short post saying so. */
  healthyAlert(channel: string, view: HealthyAlertView): Promise<void>;
}

/** What the short "alert fired but the cluster looks healthy" post shows. */
export interface HealthyAlertView {
  readonly cluster: string;
  readonly report: Report;
  readonly alerts: readonly AlertContext[];
  readonly trigger: Signal;
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
  /** The alerts seen for it, newest first. */
  readonly alerts?: readonly AlertContext[];
  /** The gaps and stuck slots the last slot map showed, to draw it again when they change. */
  readonly mapped?: string;
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
  const paired = new Set<string>();
  for (const entry of added) {
    const now = split(entry);
    const old = gone.find((g) => !paired.has(g) && split(g).subject === now.subject);
    if (!old) continue;
    paired.add(old).add(entry);
    const from = split(old).state;
    const delta = (BADNESS[now.state] ?? 1) - (BADNESS[from] ?? 1);
    changed.push({
      subject: now.subject,
      from,
      to: now.state,
      direction: delta > 0 ? 'worse' : delta < 0 ? 'better' : 'changed',
    });
  }
  // A gap that grew, shrank or moved is the same gap: one transition, never "new" plus "cleared".
  for (const entry of added.filter((a) => !paired.has(a))) {
    const now = gapRange(entry);
    if (!now) continue;
    const old = gone.find((g) => {
      const was = gapRange(g);
      return !paired.has(g) && was !== null && was.start <= now.end && now.start <= was.end;
    });
    const was = old ? gapRange(old) : null;
    if (!old || !was) continue;
    paired.add(old).add(entry);
    const size = now.end - now.start - (was.end - was.start);
    const delta = size !== 0 ? size : (BADNESS[now.reason] ?? 1) - (BADNESS[was.reason] ?? 1);
    changed.push({
      subject: 'gap',
      from: old.slice('gap '.length),
      to: entry.slice('gap '.length),
      direction: delta > 0 ? 'worse' : delta < 0 ? 'better' : 'changed',
    });
  }
  return {
    added: added.filter((s) => !paired.has(s)),
    gone: gone.filter((s) => !paired.has(s)),
    changed,
  };
}

/** The gaps and stuck slots a slot map shows: when these change, the map is drawn again. */
export function mappedOf(report: Report | null): string {
  if (!report) return '';
  return JSON.stringify([
    report.slots.gaps.map((g) => `${g.start}-${g.end} ${g.reason}`),
    report.openSlots.filter((o) => !o.live).map((o) => `${o.slot} ${o.state}`),
  ]);
}

/** The parts of a report the top message shows: when these change, the message is edited. */
export function shownOf(
  report: Report | null,
  problem: string,
  alerts: readonly AlertContext[] = [],
): string {
  const seen = alerts.map((a) => `${a.name} ${a.status}`);
  if (!report) return JSON.stringify([`unreachable ${problem}`, seen]);
  return JSON.stringify([
    seen,
    signatureOf(report, problem),
    report.slots.covered,
    report.findings.map((f) => `${f.severity} ${f.code} ${[...f.nodes].sort().join(',')}`).sort(),
  ]);
}

/** Minutes at which the header's age is worth an edit of its own; after the last, every half hour. */
const AGE_STEPS = [1, 5, 10, 15, 30, 45, 60];

/** Which age step an incident open for `ms` is in: the top message is edited when it moves on. */
export function ageStep(ms: number): number {
  const minutes = ms / 60_000;
  const last = AGE_STEPS[AGE_STEPS.length - 1] ?? 60;
  if (minutes >= last) return AGE_STEPS.length + Math.floor((minutes - last) / 30);
  return AGE_STEPS.filter((step) => minutes >= step).length;
}

const healthy = (report: Report | null) =>
  report !== null && report.state === 'ok' && report.slots.uncovered === 0;

/** How long one alert name on one healthy cluster stays answered by its one "looks healthy" post. */
export const HEALTHY_ALERT_WINDOW_MS = 30 * 60_000;

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
  /** One "alert fired, cluster looks healthy" post per alert name and cluster in this window; @defaultValue 30 min. */
  readonly healthyAlertWindowMs?: number;
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
        await this.view(cluster, incident, report, problem, trigger),
      );
    }
    return { result: 'acknowledged', previous };
  }

  private async view(
    cluster: string,
    incident: Pick<Incident, 'openedAt' | 'alerts'>,
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
      openedAt: incident.openedAt,
      now: this.now(),
      owner: await this.owner(cluster),
      alerts: incident.alerts ?? [],
      recoveredAfterMinutes,
    };
  }

  async current(cluster: string): Promise<Incident | null> {
    const raw = await this.options.redis.get(this.key(cluster));
    return raw ? (JSON.parse(raw) as Incident) : null;
  }

  private alertsKey(cluster: string): string {
    return `${this.options.prefix}:alerts-seen:${cluster}`;
  }

  /**
   * Keeps what each alert says until the next look at its cluster takes it: the signal queue coalesces a storm
   * into one look per cluster, and the alerts of coalesced signals must still reach the post.
   */
  async noteAlerts(signals: readonly Signal[]): Promise<void> {
    const multi = this.options.redis.multi();
    for (const signal of signals) {
      if (!signal.alerts?.length) continue;
      const key = this.alertsKey(signal.cluster);
      multi.rpush(key, ...signal.alerts.map((a) => JSON.stringify(a)));
      multi.ltrim(key, -2 * MAX_ALERTS_PER_SIGNAL, -1);
      multi.pexpire(key, 3_600_000);
    }
    await multi.exec();
  }

  /** The alerts noted since the last look (oldest first), removed in the same step. */
  private async takeAlerts(cluster: string): Promise<AlertContext[]> {
    const key = this.alertsKey(cluster);
    const replies = await this.options.redis.multi().lrange(key, 0, -1).del(key).exec();
    const raw = replies?.[0]?.[1];
    return Array.isArray(raw) ? raw.map((entry) => JSON.parse(String(entry)) as AlertContext) : [];
  }

  /**
   * The firing alerts of `signal` not yet answered with a "looks healthy" post in the window (one SET NX per
   * alert name, so replicas and a storm agree on one post).
   */
  private async unansweredAlerts(cluster: string, alerts: readonly AlertContext[]): Promise<AlertContext[]> {
    const firing = alerts.filter((a) => a.status === 'firing');
    const window = this.options.healthyAlertWindowMs ?? HEALTHY_ALERT_WINDOW_MS;
    const fresh: AlertContext[] = [];
    for (const alert of firing) {
      const name = createHash('sha256').update(alert.name).digest('hex').slice(0, 32);
      const key = `${this.options.prefix}:healthy-alert:${cluster}:${name}`;
      if ((await this.options.redis.set(key, String(this.now()), 'PX', window, 'NX')) === 'OK')
        fresh.push(alert);
    }
    return fresh;
  }

  /** Looks at the cluster because of `signal`; posts only when that tells people something new. */
  async handle(signal: Signal): Promise<void> {
    const cluster = this.options.clusters.find((c) => c.name === signal.cluster);
    if (!cluster) return;
    const log = this.options.log.child({ cluster: cluster.name, source: signal.source });
    // Newest first: what was noted since the last look, then what this signal carries.
    const noted = mergeAlerts([], [...(await this.takeAlerts(cluster.name)), ...(signal.alerts ?? [])]);
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
    if (!incident) {
      if (healthy(report) && report) {
        const alerts = await this.unansweredAlerts(cluster.name, noted);
        if (alerts.length > 0) {
          await this.options.poster.healthyAlert(channel, {
            cluster: cluster.name,
            report,
            alerts,
            trigger: signal,
          });
          log.info({ alerts: alerts.map((a) => a.name) }, 'alert fired on a healthy cluster');
        }
        return;
      }
      const openedAt = this.now();
      const alerts = noted;
      await this.options.redis.del(this.ownerKey(cluster.name));
      const posted = await this.options.poster.open(
        channel,
        await this.view(cluster.name, { openedAt, alerts }, report, problem, signal),
      );
      const opened: Incident = {
        openedAt,
        trigger: signal,
        channel: posted?.channel ?? channel,
        ts: posted?.ts ?? null,
        signature,
        shown: `${shownOf(report, problem, alerts)} ${ageStep(0)}`,
        alerts,
        mapped: mappedOf(report),
        healthyTicks: 0,
      };
      await this.options.redis.set(this.key(cluster.name), JSON.stringify(opened));
      log.info({ ts: opened.ts, signal: signal.summary }, 'incident opened');
      return;
    }
    const alerts = mergeAlerts(incident.alerts ?? [], [...noted].reverse());
    const seen: Incident = { ...incident, alerts };
    const trigger = incident.trigger ?? signal;
    if (healthy(report) && report) {
      const ticks = incident.healthyTicks + 1;
      if (ticks < 2) {
        await this.options.redis.set(
          this.key(cluster.name),
          JSON.stringify({ ...seen, healthyTicks: ticks, signature }),
        );
        return;
      }
      const minutes = Math.max(1, Math.round((this.now() - incident.openedAt) / 60_000));
      if (incident.ts)
        await this.options.poster.recovered(
          incident.channel,
          incident.ts,
          await this.view(cluster.name, seen, report, problem, trigger, minutes),
        );
      await this.options.redis.del(this.key(cluster.name), this.ownerKey(cluster.name));
      log.info({ minutes }, 'incident closed');
      return;
    }
    const change = diffSignatures(incident.signature, signature);
    const shown = `${shownOf(report, problem, alerts)} ${ageStep(this.now() - incident.openedAt)}`;
    const mapped = mappedOf(report);
    if (incident.ts) {
      const view = await this.view(cluster.name, seen, report, problem, trigger);
      if (shown !== incident.shown) await this.options.poster.update(incident.channel, incident.ts, view);
      if (change.added.length + change.gone.length + change.changed.length > 0)
        await this.options.poster.reply(incident.channel, incident.ts, { trigger: signal, ...change }, view);
      if (report && report.slots.gaps.length + report.openSlots.length > 0 && mapped !== incident.mapped)
        await this.options.poster.slotMap(incident.channel, incident.ts, view);
    }
    await this.options.redis.set(
      this.key(cluster.name),
      JSON.stringify({ ...seen, signature, shown, mapped, healthyTicks: 0 }),
    );
  }
}
