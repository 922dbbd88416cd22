import type { Button, KnownBlock } from '@slack/types';
import type { Finding, NodeReport, Report } from '../../core/report.js';
import { formatRanges, SLOT_COUNT } from '../../core/slot-ranges.js';
import type { IncidentView } from '../../jobs/incidents.js';
import {
  alertsText,
  type ColouredMessage,
  linkButtons,
  reportColor,
  SEVERITY_COLOR,
} from './alert-blocks.js';
import { context, esc, fitBlocks, header, mention, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import { slackDate } from './slack-date.js';

/** Which error's next step a person should take first: the cause before the symptom. */
const NEXT_ORDER: readonly Finding['code'][] = [
  'QUORUM_LOST',
  'SLOTS_OWNER_FAILED',
  'SLOTS_UNASSIGNED',
  'SLOTS_UNROUTABLE',
  'KEYS_ORPHANED',
  'SLOTS_OPEN',
  'NODE_ISOLATED',
  'NODE_FAILED',
  'NODE_UNREACHABLE',
];

export function age(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'under 1 min';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function stateWord(report: Report): string {
  if (report.findings.some((f) => f.code === 'CLUSTER_DOWN')) return 'CLUSTERDOWN';
  if (report.state === 'fail') return 'FAIL';
  if (report.findings.some((f) => f.severity === 'error')) return 'errors';
  return 'degraded';
}

/** The header: state, slots down and age, e.g. `prod · CLUSTERDOWN · 5,461 slots (33%) down · open 4 min`. */
export function headline(view: IncidentView, report: Report | null): string {
  const { cluster } = view;
  if (view.recoveredAfterMinutes !== null)
    return `:white_check_mark: ${cluster} · recovered after ${view.recoveredAfterMinutes} min`;
  const open = `open ${age(view.now - view.openedAt)}`;
  if (!report) return `:red_circle: ${cluster} · cannot be diagnosed · ${open}`;
  const down = report.slots.uncovered;
  const share = Math.round((down / SLOT_COUNT) * 100);
  const slots = down > 0 ? ` · ${plural(down, 'slot')} (${share}%) down` : '';
  return `:red_circle: ${cluster} · ${stateWord(report)}${slots} · ${open}`;
}

function impact(report: Report): string {
  const { gaps, uncovered } = report.slots;
  if (uncovered === 0) {
    const first = report.findings.find((f) => f.severity === 'error') ?? report.findings[0];
    return `*Impact:* every slot has an owner${first ? `; ${esc(first.summary)}` : ''}`;
  }
  const known = gaps.reduce((sum, g) => sum + (g.keys ?? 0), 0);
  const unknown = gaps.filter((g) => g.keys === null).length;
  const keys =
    unknown === gaps.length
      ? 'keys at risk unknown (no live node could count them)'
      : `${plural(known, 'key')} at risk${unknown > 0 ? ` plus ${plural(unknown, 'range')} nobody could count` : ''}`;
  const ranges = formatRanges(
    gaps.map((g) => [g.start, g.end] as [number, number]),
    4,
  );
  const reasons = [...new Set(gaps.map((g) => g.reason.replace('-', ' ')))].join(', ');
  return `*Impact:* ${plural(uncovered, 'slot')} ${uncovered === 1 ? 'is' : 'are'} down (${ranges}; ${reasons}) · ${keys}`;
}

function nextStep(report: Report): string | null {
  const errors = report.findings.filter((f) => f.severity === 'error');
  const first =
    NEXT_ORDER.map((code) => errors.find((f) => f.code === code)).find((f) => f !== undefined) ??
    errors[0] ??
    report.findings[0];
  return first ? `*Next:* ${esc(first.next)}` : null;
}

function trouble(n: NodeReport): string | null {
  if (n.flags.includes('fail')) return n.reachable ? 'FAIL (answers again)' : `FAIL, ${n.error ?? 'down'}`;
  if (!n.reachable) return `unreachable: ${n.error ?? 'no answer'}`;
  if (n.flags.includes('fail?')) return 'suspected (PFAIL)';
  if (n.replicaLinkUp === false) return 'replication link down';
  return null;
}

const address = (n: NodeReport) => `\`${esc(n.address ?? n.id.slice(0, 8))}\``;

/** One line per node in trouble; a replica that went down with its master joins the master's line. */
function nodeLines(report: Report): string[] {
  const troubled = report.nodes
    .map((n) => ({ n, why: trouble(n) }))
    .filter((t): t is { n: NodeReport; why: string } => t.why !== null);
  const withMaster = (r: NodeReport) =>
    r.role === 'replica' && troubled.some(({ n }) => n.id === r.replicaOf && !n.reachable) && !r.reachable;
  return troubled
    .filter(({ n }) => !withMaster(n))
    .map(({ n, why }) => {
      const role =
        n.role === 'master'
          ? n.slots.length > 0
            ? `master of ${formatRanges(n.slots, 2)}`
            : 'master, no slots'
          : `replica of ${n.replicaOf?.slice(0, 8) ?? '?'}`;
      const replicas = troubled
        .filter(({ n: r }) => withMaster(r) && r.replicaOf === n.id)
        .map(({ n: r }) => r);
      const also =
        replicas.length > 0
          ? `; ${replicas.length === 1 ? 'its replica' : 'its replicas'} ${replicas.map(address).join(', ')} too`
          : '';
      return `• ${address(n)} ${role}: ${esc(why)}${also}`;
    });
}

function counts(report: Report): string {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

function buttons(view: IncidentView, report: Report | null, fixButton: boolean): KnownBlock[] {
  const links = linkButtons(view.alerts);
  if (view.recoveredAfterMinutes !== null)
    return links.length > 0 ? [{ type: 'actions', elements: links }] : [];
  const button = (text: string, action_id: string, style?: 'primary'): Button => ({
    type: 'button' as const,
    text: { type: 'plain_text' as const, text },
    action_id,
    value: view.cluster,
    ...(style ? { style } : {}),
  });
  const fix = fixButton && report?.findings.some((f) => f.severity === 'error');
  return [
    {
      type: 'actions',
      elements: [
        ...(fix ? [button('Plan a fix', 'plan_again', 'primary')] : []),
        button(view.owner ? 'Take it over' : "I'm on it", 'ack_incident'),
        button('Silence 2h', 'silence_incident'),
        ...links,
      ],
    },
  ];
}

/** Who is on it and when it opened, then the alerts behind it (or that the monitor found it). */
function whoAndWhy(view: IncidentView): KnownBlock[] {
  const owner = view.owner
    ? `:raising_hand: ${mention(view.owner.user)} is on it since ${slackDate(view.owner.at, '{time}')}`
    : view.recoveredAfterMinutes === null
      ? ':bell: Nobody is on it yet'
      : 'Nobody acknowledged it';
  const alerts = alertsText(view.alerts);
  const found =
    alerts !== null
      ? ''
      : view.trigger.source === 'monitor'
        ? ', found by the monitor'
        : ` on ${view.trigger.source} ${view.trigger.status}: ${esc(truncate(view.trigger.summary, 200))}`;
  // A storm is one incident: say how many notifications it folded in when that is more than the alerts shown.
  const received = view.alertsReceived ?? 0;
  const storm =
    received > view.alerts.length
      ? ` · ${received.toLocaleString('en-US')} alert notifications folded in`
      : '';
  return [
    context(`${owner} · opened ${slackDate(view.openedAt)}${found}`),
    ...(alerts ? [context(`${alerts}${storm}`)] : []),
  ];
}

/**
 * The incident's top message, sized for a phone: state and age, who is on it, the alert, one line of impact,
 * one of next step, the nodes in trouble (one line each) and the buttons; the severity colour and the counts
 * ride in an attachment. The full report stays one command away.
 */
export function incidentMessage(view: IncidentView, { fixButton = false } = {}): ColouredMessage {
  const { report, cluster } = view;
  const essential: KnownBlock[] = [header(esc(headline(view, report))), ...whoAndWhy(view)];
  if (!report) essential.push(mrkdwn(`*Impact:* cannot read the cluster: ${esc(view.problem)}`));
  else if (view.recoveredAfterMinutes !== null)
    essential.push(
      mrkdwn(
        `*Now:* ${report.slots.covered.toLocaleString('en-US')}/${SLOT_COUNT.toLocaleString('en-US')} slots covered, cluster_state ok on every node.`,
      ),
    );
  else {
    essential.push(mrkdwn(impact(report)));
    const next = nextStep(report);
    if (next) essential.push(mrkdwn(next));
  }
  const lines = report && view.recoveredAfterMinutes === null ? nodeLines(report) : [];
  const nodes =
    lines.length > 0
      ? [
          mrkdwn(
            `${lines.slice(0, 4).join('\n')}${lines.length > 4 ? `\n… and ${plural(lines.length - 4, 'more node')}` : ''}`,
          ),
        ]
      : [];
  const footer = report
    ? context(
        `${counts(report)} · probed ${slackDate(Date.parse(report.probedAt), '{time_secs}')} · full report: \`/redis status ${esc(cluster)}\``,
      )
    : context(`\`/redis status ${esc(cluster)}\` tries again`);
  const blocks = fitBlocks(
    essential,
    nodes,
    buttons(view, report, fixButton),
    () => `the nodes in trouble: \`/redis status ${esc(cluster)}\``,
  );
  const recovered = view.recoveredAfterMinutes !== null;
  const text = recovered
    ? `${esc(cluster)}: recovered after ${view.recoveredAfterMinutes} min`
    : report
      ? `:rotating_light: Incident: ${esc(cluster)}: ${stateWord(report)} — ${report.slots.covered}/${SLOT_COUNT} slots covered, ${report.slots.uncovered} uncovered · open ${age(view.now - view.openedAt)}`
      : `:rotating_light: Incident: ${esc(cluster)}: cannot be diagnosed`;
  const color = recovered ? SEVERITY_COLOR.good : reportColor(report);
  return { text, blocks, attachments: [{ color, fallback: text, blocks: [footer] }] };
}
