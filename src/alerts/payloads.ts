import { z } from 'zod';

const link = z.string().optional().catch(undefined);

/** Permissive: only the fields Slotwatch uses are checked; anything else Alertmanager adds is ignored. */
export const Alert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).optional(),
  startsAt: z.string().optional(),
  fingerprint: z.string().optional(),
  /** Links are read leniently: a bad one is dropped (see safeUrl), never a reason to refuse the alert. */
  generatorURL: link,
  dashboardURL: link,
  panelURL: link,
});
export type Alert = z.infer<typeof Alert>;

/** Alertmanager webhook payload version 4. */
export const AlertmanagerPayload = z.looseObject({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  alerts: z.array(Alert).min(1).max(10_000),
  groupLabels: z.record(z.string(), z.string()).optional(),
  commonLabels: z.record(z.string(), z.string()).optional(),
});

/** Grafana's webhook: the Alertmanager shape plus a few fields of its own. */
export const GrafanaPayload = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  alerts: z.array(Alert).min(1).max(10_000),
  title: z.string().optional(),
  message: z.string().optional(),
});

export const GenericPayload = z.strictObject({
  cluster: z.string().min(1),
  status: z.enum(['firing', 'resolved']),
  summary: z.string().max(2000).optional(),
  alertname: z.string().max(200).optional(),
  severity: z.string().max(50).optional(),
  runbook_url: z.string().max(2000).optional(),
  dashboard_url: z.string().max(2000).optional(),
  source_url: z.string().max(2000).optional(),
});

/** A link an alert carries, already checked to be http(s) and of bounded length. */
export interface AlertLink {
  readonly kind: 'runbook' | 'dashboard' | 'panel' | 'source';
  readonly url: string;
}

/** What an alert says about itself, bounded; every text in it still comes from outside and is escaped when shown. */
export interface AlertContext {
  readonly name: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: string | null;
  readonly summary: string | null;
  readonly links: readonly AlertLink[];
}

/** One thing that happened to one cluster, whatever door it came through. */
export interface Signal {
  readonly cluster: string;
  readonly source: 'alertmanager' | 'grafana' | 'generic' | 'monitor';
  readonly status: 'firing' | 'resolved' | 'tick';
  readonly summary: string;
  /** The alerts behind it (none for monitor ticks and older jobs). */
  readonly alerts?: readonly AlertContext[];
}
