import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { MAX_ALERTS_PER_SIGNAL, mergeAlerts } from '../alerts/context.js';
import type { AlertContext, Signal } from '../alerts/payloads.js';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import type { Report } from '../core/report.js';
import {
  ageStep,
  diffSignatures,
  type IncidentChange,
  mappedOf,
  shownOf,
  signatureOf,
} from './incident-changes.js';

export type { IncidentChange, IncidentTransition } from './incident-changes.js';

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
  /**
   * Closes the incident in Slack: in its thread, or (`ts` null: where the top message landed was never recorded,
   * its bot died or Slack did not answer) with a message of its own in the channel, so no post is left open.
   */
  recovered(channel: string, ts: string | null, view: IncidentView): Promise<void>;
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
  /**
   * Set before the top message is posted and cleared once its ts is stored: a record still posting was left by
   * a bot that died in between, and the next look posts it again (a duplicate at worst, never a lost post).
   */
  readonly posting?: boolean;
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
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((entry) => {
      try {
        return [JSON.parse(String(entry)) as AlertContext];
      } catch {
        return [];
      }
    });
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
    // Newest first. The signal's own alerts were noted at the webhook too, so the list (in arrival order) is
    // newer than the job's copy: a job that started before later alerts arrived must not undo them (a resolved
    // alert in its payload would hide the same alert firing again just after).
    const noted = mergeAlerts([], [...(signal.alerts ?? []), ...(await this.takeAlerts(cluster.name))]);
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
    // A post that a dead bot left half made (reserved, never recorded) is made again while the cluster is
    // down; once it is healthy the incident closes as any other (its top message may be in Slack already).
    const unfinished =
      incident?.posting === true && incident.ts === null && !healthy(report) ? incident : null;
    if (!incident || unfinished) {
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
      const openedAt = unfinished?.openedAt ?? this.now();
      const alerts = unfinished ? mergeAlerts(unfinished.alerts ?? [], [...noted].reverse()) : noted;
      if (!unfinished) await this.options.redis.del(this.ownerKey(cluster.name));
      const record: Incident = {
        openedAt,
        trigger: unfinished?.trigger ?? signal,
        channel,
        ts: null,
        signature,
        shown: `${shownOf(report, problem, alerts)} ${ageStep(0)}`,
        alerts,
        mapped: mappedOf(report),
        healthyTicks: 0,
        posting: true,
      };
      // Reserved first, then posted, then the ts stored at once; the slot map comes after.
      await this.options.redis.set(this.key(cluster.name), JSON.stringify(record));
      const view = await this.view(cluster.name, { openedAt, alerts }, report, problem, signal);
      const posted = await this.options.poster.open(channel, view);
      const opened: Incident = {
        ...record,
        channel: posted?.channel ?? channel,
        ts: posted?.ts ?? null,
        posting: false,
      };
      await this.options.redis.set(this.key(cluster.name), JSON.stringify(opened));
      if (unfinished) log.warn({ ts: opened.ts }, 'incident post made again: a bot died while posting it');
      log.info({ ts: opened.ts, signal: signal.summary }, 'incident opened');
      if (opened.ts) await this.options.poster.slotMap(opened.channel, opened.ts, view);
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
      // Posted before the record goes: a bot killed in between makes a second recovery note, never none.
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
