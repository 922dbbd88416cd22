import type { Signal } from '../alerts/payloads.js';
import type { IncidentChange } from './incident-changes.js';
import type { HealthyAlertView, IncidentView } from './incident-view.js';

/** What a queued post says; the Slack door words it. */
export type PostItem =
  /** A thread reply: what changed in the incident, and where things stand. */
  | { readonly kind: 'incident-change'; readonly change: IncidentChange; readonly view: IncidentView }
  /** The slot map drawn again into the thread (from the incident's latest view when it is posted). */
  | { readonly kind: 'slot-map'; readonly cluster: string; readonly openedAt: number }
  /** The recovery note: in the thread, or in the channel when the top message never landed. */
  | { readonly kind: 'incident-recovered'; readonly view: IncidentView }
  /** The postmortem timeline, built when it is posted (after any repair of the cluster has ended). */
  | {
      readonly kind: 'timeline';
      readonly cluster: string;
      readonly openedAt: number;
      readonly trigger: Signal;
      readonly recoveredAt: number;
    }
  /** The timeline as a JSON file in the thread, after its message (the cluster's last kept timeline). */
  | { readonly kind: 'timeline-file'; readonly cluster: string; readonly openedAt: number }
  /** An alert fired while the cluster looks healthy. */
  | { readonly kind: 'healthy-alert'; readonly view: HealthyAlertView }
  /** In the incident thread: someone asked for a repair (links to the request's message). */
  | {
      readonly kind: 'request-link';
      readonly request: string;
      readonly user: string;
      readonly title: string;
      readonly required: number;
      readonly dataLoss: boolean;
    }
  /** In the request's thread: nobody can approve it (no approver list). */
  | { readonly kind: 'no-approvers'; readonly request: string };
