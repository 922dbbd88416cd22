import { z } from 'zod';

/** Permissive: only the fields Slotwatch uses are checked; anything else Alertmanager adds is ignored. */
export const Alert = z.looseObject({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).optional(),
  startsAt: z.string().optional(),
  fingerprint: z.string().optional(),
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
});

/** One thing that happened to one cluster, whatever door it came through. */
export interface Signal {
  readonly cluster: string;
  readonly source: 'alertmanager' | 'grafana' | 'generic' | 'monitor';
  readonly status: 'firing' | 'resolved' | 'tick';
  readonly summary: string;
}
