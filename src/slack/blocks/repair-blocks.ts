import type { KnownBlock } from '@slack/types';
import type { RepairOption } from '../../core/repair/types.js';
import type { Report } from '../../core/report.js';
import { formatRanges } from '../../core/slot-ranges.js';
import type { RepairRequest } from '../../jobs/requests.js';
import { codeTable, context, esc, fitBlocks, header, LIMITS, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import type { SlackMessage } from './report-blocks.js';

const riskText = (o: RepairOption) =>
  o.risk === 'data-loss'
    ? `:warning: *Loses data:* ${esc(o.loss?.description ?? 'see the steps')} (slots ${formatRanges(o.loss?.slots ?? [], 6)}, ${o.loss?.keys ?? 'unknown'} keys last seen)`
    : ':white_check_mark: *Safe:* loses no data';

const steps = (o: RepairOption) =>
  codeTable(
    o.steps.map((s) => `${String(s.index).padStart(2)}. ${s.where}: ${s.command}`),
    (n) => `… and ${n} more steps`,
    12,
  );

/** What a person must do when no repair fits but the cluster is in trouble: the error findings' next steps. */
function byHand(cluster: string, report: Report): SlackMessage {
  const errors = report.findings.filter((f) => f.severity === 'error');
  const items = errors.map((f) => {
    const nodes =
      f.details.length > 0
        ? `\n${f.details
            .slice(0, 4)
            .map((d) => `   · ${esc(d)}`)
            .join('\n')}`
        : '';
    return mrkdwn(`*${f.code}* ${esc(f.summary)}${nodes}\n*By hand:* ${esc(f.next)}`);
  });
  const title = `:raising_hand: ${cluster}: no automatic repair fits; a person has to act`;
  return {
    text: `${cluster}: no automatic repair fits; ${plural(errors.length, 'error')} need a person`,
    blocks: fitBlocks(
      [
        header(truncate(title, LIMITS.header)),
        mrkdwn(
          `${report.slots.uncovered > 0 ? `*${report.slots.uncovered.toLocaleString('en-US')} slots have no live owner.* ` : ''}Slotwatch offers no repair for this state (it would have to guess or lose data). Do this, then press *Plan a fix* again:`,
        ),
      ],
      items,
      [context(`\`slotwatch check ${esc(report.seeds.join(','))}\` shows the full report.`)],
      (hidden) => `… and ${hidden} more: \`/redis check ${esc(cluster)}\``,
    ),
  };
}

const requestButton = (cluster: string, o: RepairOption): KnownBlock => ({
  type: 'actions',
  elements: [
    {
      type: 'button',
      text: { type: 'plain_text', text: 'Request this repair' },
      action_id: 'request_repair',
      value: JSON.stringify({ c: cluster, o: o.id, f: o.fingerprint }),
      ...(o.risk === 'data-loss' ? { style: 'danger' as const } : {}),
    },
  ],
});

/** `/redis fix`: each option with its risk and a Request button, within Slack's message limits. */
export function optionsMessage(
  cluster: string,
  options: readonly RepairOption[],
  report: Report,
): SlackMessage {
  if (options.length === 0) {
    if (report.state === 'fail' || report.findings.some((f) => f.severity === 'error'))
      return byHand(cluster, report);
    return {
      text: `${cluster}: nothing to repair`,
      blocks: [mrkdwn(`:white_check_mark: *${esc(cluster)}*: healthy, nothing to repair.`)],
    };
  }
  const blocks = fitBlocks(
    [header(`:wrench: Repairs for ${cluster}`)],
    options.map((o) => [
      mrkdwn(`*${esc(o.title)}*\n${esc(truncate(o.explanation, 1200))}\n${riskText(o)}`),
      requestButton(cluster, o),
    ]),
    [context('A request needs approvals from people on the approver list before anything runs.')],
    (hidden) =>
      `… and ${plural(hidden, 'more option')}: \`slotwatch plan ${esc(report.seeds.join(','))}\` lists every one.`,
  );
  return { text: `${plural(options.length, 'repair option')} for ${cluster}`, blocks };
}

const when = (ms: number) =>
  `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${new Date(ms).toISOString()}>`;

const STATUS_TEXT: Record<RepairRequest['status'], string> = {
  pending: ':hourglass_flowing_sand: Waiting for approvals',
  queued: ':inbox_tray: Approved, queued',
  running: ':gear: Running',
  done: ':white_check_mark: Done',
  failed: ':x: Failed',
  stale: ':warning: Refused: the cluster changed',
  rejected: ':no_entry: Rejected',
  expired: ':alarm_clock: Expired',
  cancelled: ':octagonal_sign: Cancelled',
};

/** The approval message: what, why, risk, who asked, who approved, and the buttons while they mean something. */
export function requestMessage(r: RepairRequest): SlackMessage {
  const o = r.option;
  const votes = r.approvals.map((v) => `<@${v.user}> ${when(v.at)}`).join(', ') || 'none yet';
  const blocks: KnownBlock[] = [
    header(`Repair request: ${o.title}`),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Cluster*\n${esc(r.cluster)}` },
        { type: 'mrkdwn', text: `*Status*\n${STATUS_TEXT[r.status]}` },
        { type: 'mrkdwn', text: `*Requested by*\n<@${r.requester}> ${when(r.createdAt)}` },
        { type: 'mrkdwn', text: `*Approvals*\n${r.approvals.length}/${r.required}: ${votes}` },
        { type: 'mrkdwn', text: `*Expires*\n${when(r.expiresAt)}` },
        { type: 'mrkdwn', text: `*Option*\n\`${esc(o.id)}\`` },
      ],
    },
    mrkdwn(esc(truncate(o.explanation, 2000))),
    mrkdwn(riskText(o)),
    mrkdwn(`*Steps*\n${steps(o)}`),
  ];
  if (r.rejectedBy)
    blocks.push(mrkdwn(`:no_entry: Rejected by <@${r.rejectedBy.user}> ${when(r.rejectedBy.at)}`));
  if (r.cancelledBy)
    blocks.push(
      mrkdwn(`:octagonal_sign: Cancel asked by <@${r.cancelledBy.user}> ${when(r.cancelledBy.at)}`),
    );
  if (r.outcome) blocks.push(mrkdwn(`*Outcome:* ${esc(r.outcome)}`));
  if (r.status === 'pending') {
    const confirm =
      o.risk === 'data-loss'
        ? {
            confirm: {
              title: { type: 'plain_text' as const, text: 'Approve a repair that loses data?' },
              text: {
                type: 'mrkdwn' as const,
                text: truncate(
                  `This deletes ${esc(o.loss?.description ?? 'data')} in slots ${formatRanges(o.loss?.slots ?? [], 6)}. It cannot be undone.`,
                  300,
                ),
              },
              confirm: { type: 'plain_text' as const, text: 'Yes, lose that data' },
              deny: { type: 'plain_text' as const, text: 'No' },
            },
          }
        : {};
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          action_id: 'approve_repair',
          value: r.id,
          ...confirm,
        },
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Reject' },
          style: 'danger',
          action_id: 'reject_repair',
          value: r.id,
        },
      ],
    });
  }
  if (r.status === 'running' || r.status === 'queued') {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Cancel' },
          style: 'danger',
          action_id: 'cancel_repair',
          value: r.id,
        },
      ],
    });
  }
  if (r.status === 'stale') {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Plan again' },
          action_id: 'plan_again',
          value: r.cluster,
        },
      ],
    });
  }
  blocks.push(context(`Request ${r.id}`));
  return { text: `Repair request for ${r.cluster}: ${o.title} (${r.status})`, blocks };
}
