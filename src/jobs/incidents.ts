import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MAX_ALERTS_PER_SIGNAL, mergeAlerts } from '../alerts/context.js';
import type { AlertContext, Signal } from '../alerts/payloads.js';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import type { Report } from '../core/report.js';
import { ageStep, diffSignatures, mappedOf, shownOf, signatureOf } from './incident-changes.js';
import { type Incident, IncidentStore } from './incident-store.js';
import type { HealthyAlertView, IncidentOwner, IncidentView } from './incident-view.js';
import type { Outbox, ViewRef } from './outbox.js';
import type { PostItem } from './outbox-items.js';

export type { IncidentChange, IncidentTransition } from './incident-changes.js';
export type { Incident } from './incident-store.js';
export type { HealthyAlertView, IncidentOwner, IncidentView } from './incident-view.js';

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
  /** Where messages to show are queued; the Slack renderer takes them from there. */
  readonly outbox: Outbox;
  readonly log: Logger;
  /** Records who acknowledged an incident (the repair audit log). */
  readonly audit?: (entry: {
    cluster: string;
    incident: string;
    user: string;
    detail: string;
  }) => Promise<void>;
  readonly now?: () => number;
  /** Told when an incident closes (its pending repair requests are no longer needed). Errors are logged. */
  readonly onClosed?: (cluster: string, recoveredAt: number, lookedAt: number) => Promise<unknown>;
  /** One "alert fired, cluster looks healthy" post per alert name and cluster in this window; @defaultValue 30 min. */
  readonly healthyAlertWindowMs?: number;
}

export type AcknowledgeResult =
  | { readonly result: 'none' }
  | { readonly result: 'acknowledged'; readonly previous: IncidentOwner | null };

/** The alert count rounded down to one significant digit: a storm edits the top message a few times, not per look. */
const stepOf = (n: number) => {
  if (n < 10) return n;
  const unit = 10 ** Math.floor(Math.log10(n));
  return Math.floor(n / unit) * unit;
};

export const incidentRef = (cluster: string, openedAt: number): ViewRef => ({
  kind: 'incident',
  cluster,
  openedAt,
});

/**
 * One open incident per cluster, in the queue Redis: opened on trouble, changed on change, closed after two healthy
 * looks. Each look writes the incident and what its messages should show in one transaction; Slack shows it
 * when it can (the renderer), so no look ever waits on Slack.
 */
export class IncidentService {
  private readonly now: () => number;
  readonly store: IncidentStore;

  constructor(private readonly options: IncidentOptions) {
    this.now = options.now ?? Date.now;
    this.store = new IncidentStore(options.redis, options.prefix);
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

  owner(cluster: string): Promise<IncidentOwner | null> {
    return this.store.owner(cluster);
  }

  /** "I'm on it": records who owns the open incident (audited); the top message shows it when Slack can. */
  async acknowledge(cluster: string, user: string): Promise<AcknowledgeResult> {
    const incident = await this.current(cluster);
    if (!incident) return { result: 'none' };
    const previous = await this.owner(cluster);
    const owner: IncidentOwner = { user, at: this.now() };
    const shown = await this.store.message(cluster, incident.openedAt);
    const multi = this.options.redis.multi().set(this.store.ownerKey(cluster), JSON.stringify(owner));
    if (shown) {
      this.store.viewIn(multi, { ...shown.view, owner }, incident.channel);
      this.options.outbox.markIn(multi, incidentRef(cluster, incident.openedAt));
    }
    await multi.exec();
    await this.options.audit?.({
      cluster,
      incident: `incident-${incident.openedAt}`,
      user,
      detail:
        previous && previous.user !== user ? `took the incident over from ${previous.user}` : "I'm on it",
    });
    return { result: 'acknowledged', previous };
  }

  private async view(
    cluster: string,
    incident: Pick<Incident, 'openedAt' | 'alerts' | 'alertsReceived'>,
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
      alertsReceived: incident.alertsReceived ?? 0,
      recoveredAfterMinutes,
    };
  }

  /** The open incident, with where its top message landed (ts null until it has). */
  current(cluster: string): Promise<Incident | null> {
    return this.store.current(cluster);
  }

  private alertsKey(cluster: string): string {
    return `${this.options.prefix}:alerts-seen:${cluster}`;
  }

  /**
   * Keeps what each alert says until the next look at its cluster takes it: the signal queue coalesces a storm
   * into one look per cluster, and the alerts of coalesced signals must still reach the post. Counted too.
   */
  async noteAlerts(signals: readonly Signal[]): Promise<void> {
    const multi = this.options.redis.multi();
    for (const signal of signals) {
      if (!signal.alerts?.length) continue;
      const key = this.alertsKey(signal.cluster);
      multi.rpush(key, ...signal.alerts.map((a) => JSON.stringify(a)));
      multi.ltrim(key, -2 * MAX_ALERTS_PER_SIGNAL, -1);
      multi.pexpire(key, 3_600_000);
      multi.incrby(`${key}:count`, signal.alerts.length);
      multi.pexpire(`${key}:count`, 3_600_000);
    }
    await multi.exec();
  }

  /** The alerts noted since the last look (oldest first) and how many arrived, removed in the same step. */
  private async takeAlerts(cluster: string): Promise<{ alerts: AlertContext[]; count: number }> {
    const key = this.alertsKey(cluster);
    const replies = await this.options.redis
      .multi()
      .lrange(key, 0, -1)
      .getdel(`${key}:count`)
      .del(key)
      .exec();
    const raw = replies?.[0]?.[1];
    const count = Number(replies?.[1]?.[1] ?? 0) || 0;
    if (!Array.isArray(raw)) return { alerts: [], count };
    const alerts = raw.flatMap((entry) => {
      try {
        return [JSON.parse(String(entry)) as AlertContext];
      } catch {
        return [];
      }
    });
    return { alerts, count };
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

  private post(multi: ChainableCommander, channel: string, parent: ViewRef | null, item: PostItem) {
    return this.options.outbox.postIn(multi, channel, parent, item);
  }

  /** Looks at the cluster because of `signal`; queues a message only when that tells people something new. */
  async handle(signal: Signal): Promise<void> {
    const cluster = this.options.clusters.find((c) => c.name === signal.cluster);
    if (!cluster) return;
    const log = this.options.log.child({ cluster: cluster.name, source: signal.source });
    // Newest first. The signal's own alerts were noted at the webhook too, so the list (in arrival order) is
    // newer than the job's copy: a job that started before later alerts arrived must not undo them (a resolved
    // alert in its payload would hide the same alert firing again just after).
    const taken = await this.takeAlerts(cluster.name);
    const noted = mergeAlerts([], [...(signal.alerts ?? []), ...taken.alerts]);
    if (await this.silencedUntil(cluster.name)) return;
    const result = await this.options.diagnose(cluster);
    const report = result.ok ? result.value : null;
    const problem = result.ok ? '' : result.error.message;
    // With the channel its top message landed in (an ID), so posts and their order are kept per channel.
    const incident = await this.store.current(cluster.name);
    const channel = cluster.channel ?? this.options.alertChannel;
    if (!channel) {
      log.warn({}, 'no channel for this cluster (set its channel or ALERT_CHANNEL): incident not posted');
      return;
    }
    const signature = signatureOf(report, problem);
    const multi = this.options.redis.multi();
    if (!incident) {
      if (healthy(report) && report) {
        const alerts = await this.unansweredAlerts(cluster.name, noted);
        if (alerts.length === 0) return;
        const view: HealthyAlertView = { cluster: cluster.name, report, alerts, trigger: signal };
        await this.post(multi, channel, null, { kind: 'healthy-alert', view }).exec();
        log.info({ alerts: alerts.map((a) => a.name) }, 'alert fired on a healthy cluster');
        return;
      }
      const openedAt = this.now();
      const alertsReceived = taken.count;
      const record: Omit<Incident, 'ts'> = {
        openedAt,
        trigger: signal,
        channel,
        signature,
        shown: `${shownOf(report, problem, noted)} ${ageStep(0)}`,
        alerts: noted,
        alertsReceived,
        mapped: mappedOf(report),
        healthyTicks: 0,
      };
      multi.del(this.store.ownerKey(cluster.name));
      const view = await this.view(cluster.name, record, report, problem, signal);
      this.store.recordIn(multi, cluster.name, record);
      this.store.viewIn(multi, { ...view, owner: null }, channel);
      this.options.outbox.markIn(multi, incidentRef(cluster.name, openedAt));
      if (report && report.slots.gaps.length + report.openSlots.length > 0)
        this.post(multi, channel, incidentRef(cluster.name, openedAt), {
          kind: 'slot-map',
          cluster: cluster.name,
          openedAt,
        });
      await multi.exec();
      log.info({ signal: signal.summary, alertsReceived }, 'incident opened');
      return;
    }
    const ref = incidentRef(cluster.name, incident.openedAt);
    const alerts = mergeAlerts(incident.alerts ?? [], [...noted].reverse());
    const seen = { ...incident, alerts, alertsReceived: (incident.alertsReceived ?? 0) + taken.count };
    const trigger = incident.trigger ?? signal;
    if (healthy(report) && report) {
      const ticks = incident.healthyTicks + 1;
      if (ticks < 2) {
        await this.store.recordIn(multi, cluster.name, { ...seen, healthyTicks: ticks, signature }).exec();
        return;
      }
      const minutes = Math.max(1, Math.round((this.now() - incident.openedAt) / 60_000));
      const view = await this.view(cluster.name, seen, report, problem, trigger, minutes);
      this.store.viewIn(multi, view, incident.channel);
      this.options.outbox.markIn(multi, ref);
      this.post(multi, incident.channel, ref, { kind: 'incident-recovered', view });
      this.post(multi, incident.channel, ref, {
        kind: 'timeline',
        cluster: cluster.name,
        openedAt: incident.openedAt,
        trigger,
        recoveredAt: view.now,
      });
      this.store.recordIn(multi, cluster.name, null);
      await multi.exec();
      log.info({ minutes }, 'incident closed');
      await this.options
        .onClosed?.(cluster.name, view.now, Date.parse(report.probedAt))
        .catch((error: unknown) =>
          log.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'after-close work failed',
          ),
        );
      return;
    }
    const change = diffSignatures(incident.signature, signature);
    const shown = `${shownOf(report, problem, alerts)} ${ageStep(this.now() - incident.openedAt)}`;
    const mapped = mappedOf(report);
    const view = await this.view(cluster.name, seen, report, problem, trigger);
    if (shown !== incident.shown || stepOf(seen.alertsReceived) !== stepOf(incident.alertsReceived ?? 0)) {
      this.store.viewIn(multi, view, incident.channel);
      this.options.outbox.markIn(multi, ref);
    }
    if (change.added.length + change.gone.length + change.changed.length > 0)
      this.post(multi, incident.channel, ref, {
        kind: 'incident-change',
        change: { trigger: signal, ...change },
        view,
      });
    if (report && report.slots.gaps.length + report.openSlots.length > 0 && mapped !== incident.mapped)
      this.post(multi, incident.channel, ref, {
        kind: 'slot-map',
        cluster: cluster.name,
        openedAt: incident.openedAt,
      });
    this.store.recordIn(multi, cluster.name, { ...seen, signature, shown, mapped, healthyTicks: 0 });
    await multi.exec();
  }
}
