import type { Button, KnownBlock } from '@slack/types';
import type { AlertContext, AlertLink } from '../../alerts/payloads.js';
import type { Report } from '../../core/report.js';
import { SLOT_COUNT } from '../../core/slot-ranges.js';
import type { HealthyAlertView } from '../../jobs/incidents.js';
import { context, esc, LIMITS, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import { slackDate } from './slack-date.js';

/** Attachment bar colours as alert tools use them: red for down or errors, orange for warnings, green when well. */
export const SEVERITY_COLOR = { danger: '#D92D20', warning: '#F79009', good: '#2EB67D' } as const;

/** A coloured attachment around `blocks` (the bar beside it carries the severity). */
export interface ColouredAttachment {
  readonly color: string;
  readonly fallback: string;
  readonly blocks: KnownBlock[];
}

/** Red while anything is an error or the cluster cannot be read, orange for warnings only, green otherwise. */
export function reportColor(report: Report | null): string {
  if (!report || report.state === 'fail' || report.slots.uncovered > 0) return SEVERITY_COLOR.danger;
  if (report.findings.some((f) => f.severity === 'error')) return SEVERITY_COLOR.danger;
  if (report.findings.some((f) => f.severity === 'warning')) return SEVERITY_COLOR.warning;
  return SEVERITY_COLOR.good;
}

/** `*Name* · critical · firing: summary`, every part escaped (it all comes from the alert's sender). */
export function alertLine(alert: AlertContext, summaryMax = 300): string {
  const severity = alert.severity ? ` · ${esc(alert.severity)}` : '';
  const summary = alert.summary ? `: ${esc(truncate(alert.summary, summaryMax))}` : '';
  return `*${esc(alert.name)}*${severity} · ${alert.status}${summary}`;
}

/** The newest alert in full (its summary cut to stay a line or two on a phone), the others by name. */
export function alertsText(alerts: readonly AlertContext[]): string | null {
  const [first, ...rest] = alerts;
  if (!first) return null;
  const more =
    rest.length > 0
      ? ` · and ${plural(rest.length, 'more alert')}: ${rest.map((a) => `${esc(a.name)} (${a.status})`).join(', ')}`
      : '';
  return `:bell: ${alertLine(first, 160)}${more}`;
}

const LINK_LABEL: Readonly<Record<AlertLink['kind'], string>> = {
  runbook: 'Runbook',
  dashboard: 'Dashboard',
  panel: 'Panel',
  source: 'Alert source',
};

/** URL buttons for the alerts' links (already checked http(s) and bounded), at most `max`, no URL twice. */
export function linkButtons(alerts: readonly AlertContext[], max = 4): Button[] {
  const seen = new Set<string>();
  const buttons: Button[] = [];
  const named = alerts.filter((a) => a.links.length > 0).length > 1;
  for (const alert of alerts)
    for (const link of alert.links) {
      if (seen.has(link.url) || buttons.length >= max) continue;
      seen.add(link.url);
      const label = named ? `${LINK_LABEL[link.kind]}: ${esc(alert.name)}` : LINK_LABEL[link.kind];
      buttons.push({
        type: 'button',
        text: { type: 'plain_text', text: truncate(label, LIMITS.buttonText) },
        action_id: `incident_link_${buttons.length}`,
        url: link.url,
      });
    }
  return buttons;
}

export interface ColouredMessage {
  readonly text: string;
  readonly blocks: KnownBlock[];
  readonly attachments: ColouredAttachment[];
}

/**
 * An alert fired while the cluster looks healthy: say so in one short post (the alert, what Slotwatch sees and
 * when), never nothing.
 */
export function healthyAlertMessage(view: HealthyAlertView): ColouredMessage {
  const { report, cluster } = view;
  const names = view.alerts.map((a) => a.name).join(', ');
  const served = `all ${SLOT_COUNT} slots served`;
  const warnings = report.findings.filter((f) => f.severity === 'warning');
  const note =
    warnings.length > 0
      ? ` · ${plural(warnings.length, 'warning')}: ${esc(truncate(warnings.map((w) => w.summary).join(' '), 300))}`
      : '';
  const seen = `Slotwatch sees *${esc(cluster)}* healthy: ${served}, cluster_state ok on every node${note}`;
  const links = linkButtons(view.alerts);
  const blocks: KnownBlock[] = [
    mrkdwn(alertsText(view.alerts) ?? ''),
    mrkdwn(`:large_green_circle: ${seen}`),
    ...(links.length > 0 ? [{ type: 'actions' as const, elements: links }] : []),
  ];
  const checked = context(
    `checked ${slackDate(Date.parse(report.probedAt), '{date_short_pretty} {time_secs}')} after ${esc(view.trigger.source)} · \`/redis status ${esc(cluster)}\` looks again`,
  );
  return {
    text: `${esc(truncate(names, 300))} fired, but Slotwatch sees ${esc(cluster)} healthy: ${served}`,
    blocks,
    attachments: [{ color: reportColor(report), fallback: `${esc(cluster)} healthy`, blocks: [checked] }],
  };
}
