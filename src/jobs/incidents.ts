import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import type { Report } from '../core/report.js';
import { formatRanges } from '../core/slot-ranges.js';

/** What changed in an open incident, and the signal that made the bot look. */
export interface IncidentChange {
  readonly trigger: Signal;
  readonly added: readonly string[];
  readonly gone: readonly string[];
}

/** How incidents reach people (the Slack adapter implements it and escapes every outside text). */
export interface IncidentPoster {
  /** Posts the report as the incident's top message, saying what triggered it; returns its ts. */
  open(
    cluster: string,
    channel: string,
    report: Report | null,
    problem: string,
    trigger: Signal,
  ): Promise<string | null>;
  reply(channel: string, ts: string, change: IncidentChange): Promise<void>;
  recovered(cluster: string, channel: string, ts: string, report: Report, minutes: number): Promise<void>;
}

interface Incident {
  readonly openedAt: number;
  readonly channel: string;
  readonly ts: string | null;
  readonly signature: readonly string[];
  readonly healthyTicks: number;
}

/** What makes two reports "the same incident state": gaps, dead or unreachable nodes, stuck slots. */
export function signatureOf(report: Report | null, problem: string): string[] {
  if (!report) return [`unreachable: ${problem}`];
  return [
    ...report.slots.gaps.map((g) => `gap ${formatRanges([[g.start, g.end]])} ${g.reason}`),
    ...report.nodes
      .filter((n) => n.flags.includes('fail'))
      .map((n) => `node ${n.address ?? n.id.slice(0, 8)} FAIL`),
    ...report.nodes
      .filter((n) => !n.reachable && !n.flags.includes('fail'))
      .map((n) => `node ${n.address ?? n.id.slice(0, 8)} unreachable`),
    ...report.openSlots.filter((o) => !o.live).map((o) => `slot ${o.slot} ${o.state}`),
  ].sort();
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
  readonly now?: () => number;
}

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
    if (!incident) {
      if (healthy(report)) return;
      const ts = await this.options.poster.open(cluster.name, channel, report, problem, signal);
      const opened: Incident = { openedAt: this.now(), channel, ts, signature, healthyTicks: 0 };
      await this.options.redis.set(this.key(cluster.name), JSON.stringify(opened));
      log.info({ ts, signal: signal.summary }, 'incident opened');
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
        await this.options.poster.recovered(cluster.name, incident.channel, incident.ts, report, minutes);
      await this.options.redis.del(this.key(cluster.name));
      log.info({ minutes }, 'incident closed');
      return;
    }
    const added = signature.filter((s) => !incident.signature.includes(s));
    const gone = incident.signature.filter((s) => !signature.includes(s));
    if ((added.length > 0 || gone.length > 0) && incident.ts)
      await this.options.poster.reply(incident.channel, incident.ts, { trigger: signal, added, gone });
    await this.options.redis.set(
      this.key(cluster.name),
      JSON.stringify({ ...incident, signature, healthyTicks: 0 }),
    );
  }
}
