import type { AlertContext, Signal } from '../alerts/payloads.js';
import type { Report } from '../core/report.js';

export interface IncidentOwner {
  readonly user: string;
  readonly at: number;
}

/** Everything the top message shows, stored with the incident; the Slack door renders it. */
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
  /** How many alert notifications were folded into this incident's looks (a storm of 3,000 is one incident). */
  readonly alertsReceived?: number;
  /** Set once the cluster has been healthy twice in a row. */
  readonly recoveredAfterMinutes: number | null;
}

/** What the short "alert fired but the cluster looks healthy" post shows. */
export interface HealthyAlertView {
  readonly cluster: string;
  readonly report: Report;
  readonly alerts: readonly AlertContext[];
  readonly trigger: Signal;
}
