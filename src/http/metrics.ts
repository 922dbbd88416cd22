import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Report } from '../core/report.js';

/** The Prometheus metrics Slotwatch exports, in their own registry (no globals). */
export class Metrics {
  readonly registry = new Registry();
  /** code|severity label pairs already exported per cluster, so that cleared findings drop to 0. */
  private readonly seen = new Map<string, Set<string>>();
  private readonly probeDuration = new Histogram({
    name: 'slotwatch_probe_duration_seconds',
    help: 'Time to diagnose a cluster (probe, key counts, analysis)',
    labelNames: ['cluster', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly findings = new Gauge({
    name: 'slotwatch_findings',
    help: 'Findings of the last diagnosis, by code and severity',
    labelNames: ['cluster', 'code', 'severity'],
    registers: [this.registry],
  });
  private readonly uncovered = new Gauge({
    name: 'slotwatch_slots_uncovered',
    help: 'Hash slots without a live owner at the last diagnosis',
    labelNames: ['cluster'],
    registers: [this.registry],
  });
  private readonly commands = new Counter({
    name: 'slotwatch_commands_total',
    help: 'Slash commands handled, by subcommand and outcome',
    labelNames: ['subcommand', 'outcome'],
    registers: [this.registry],
  });
  private readonly slackCalls = new Counter({
    name: 'slotwatch_slack_calls_total',
    help: 'Slack Web API calls of the render path, by method and result (ok, rate_limited, deferred, timeout, transient, or the permanent error)',
    labelNames: ['method', 'result'],
    registers: [this.registry],
  });
  /** How many messages wait to be shown in Slack (read from the outbox at each scrape). */
  private backlogOf: (() => Promise<number | null>) | null = null;
  private readonly slackBacklog = new Gauge({
    name: 'slotwatch_slack_backlog',
    help: 'Messages queued for Slack and not shown yet (views to render, posts to make), across replicas',
    registers: [this.registry],
    collect: async () => {
      const backlog = await this.backlogOf?.().catch(() => null);
      if (typeof backlog === 'number') this.slackBacklog.set(backlog);
    },
  });
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  /** The longest the event loop was held (a diagnosis must never stall it), since the previous scrape. */
  readonly loopDelayMax = new Gauge({
    name: 'slotwatch_event_loop_delay_max_seconds',
    help: 'Longest event-loop delay since the previous scrape',
    registers: [this.registry],
    collect: () => {
      this.loopDelayMax.set(this.loopDelay.max / 1e9);
      this.loopDelay.reset();
    },
  });
  private readonly lastSuccess = new Gauge({
    name: 'slotwatch_last_successful_probe_timestamp_seconds',
    help: 'Unix time of the last diagnosis that reached the cluster',
    labelNames: ['cluster'],
    registers: [this.registry],
  });

  constructor() {
    this.loopDelay.enable();
  }

  /** Times one diagnosis; its report, when there is one, goes to `observed`. */
  probed(cluster: string, seconds: number, reached: boolean): void {
    this.probeDuration.observe({ cluster, outcome: reached ? 'ok' : 'unreachable' }, seconds);
  }

  /** Every report the bot reads (monitor, alerts, commands, repairs' own before/after looks). */
  observed(cluster: string, report: Report, now = Date.now()): void {
    this.lastSuccess.set({ cluster }, now / 1000);
    this.uncovered.set({ cluster }, report.slots.uncovered);
    const counts = new Map<string, number>();
    for (const f of report.findings)
      counts.set(`${f.code}|${f.severity}`, (counts.get(`${f.code}|${f.severity}`) ?? 0) + 1);
    for (const stale of this.seen.get(cluster) ?? []) if (!counts.has(stale)) counts.set(stale, 0);
    for (const [key, count] of counts) {
      const [code = '', severity = ''] = key.split('|');
      this.findings.set({ cluster, code, severity }, count);
    }
    this.seen.set(cluster, new Set(counts.keys()));
  }

  /** Where the Slack backlog is read from at each scrape. */
  watchSlackBacklog(read: () => Promise<number | null>): void {
    this.backlogOf = read;
  }

  slackCall(method: string, result: string): void {
    this.slackCalls.inc({ method, result });
  }

  command(subcommand: string, outcome: 'ok' | 'usage' | 'error'): void {
    this.commands.inc({ subcommand, outcome });
  }
}
