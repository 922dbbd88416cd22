import type { KnownBlock } from '@slack/types';
import type { RepairOption } from '../../core/repair/types.js';
import type { Report } from '../../core/report.js';
import type { RepairProgress } from '../../jobs/repair-progress.js';
import { FINAL_STATUSES, type RepairRequest } from '../../jobs/requests.js';
import { lossHolders, lossSentence } from './data-loss.js';
import { codeTable, context, esc, fitBlocks, header, LIMITS, mention, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import { duration, stepChecklist, stepSummary } from './progress-blocks.js';
import type { SlackMessage } from './report-blocks.js';
import { slackDate } from './slack-date.js';

const riskText = (o: RepairOption, report: Report) =>
  o.risk === 'data-loss'
    ? `:warning: *Loses data.* ${lossSentence(o, lossHolders(o, report))}`
    : ':white_check_mark: *Safe:* loses no data';

const steps = (o: RepairOption) =>
  codeTable(
    o.steps.map((s) => `${String(s.index).padStart(2)}. ${s.where}: ${s.command}`),
    (n) => `… and ${plural(n, 'more step')}`,
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
  const title = `:raising_hand: ${esc(cluster)}: no automatic repair fits; a person has to act`;
  return {
    text: `${esc(cluster)}: no automatic repair fits; ${plural(errors.length, 'error')} need a person`,
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
      text: `${esc(cluster)}: nothing to repair`,
      blocks: [mrkdwn(`:white_check_mark: *${esc(cluster)}*: healthy, nothing to repair.`)],
    };
  }
  const blocks = fitBlocks(
    [header(`:wrench: Repairs for ${esc(cluster)}`)],
    options.map((o) => [
      mrkdwn(`*${esc(o.title)}*\n${esc(truncate(o.explanation, 1200))}\n${riskText(o, report)}`),
      requestButton(cluster, o),
    ]),
    [context('A request needs approvals from people on the approver list before anything runs.')],
    (hidden) =>
      `… and ${plural(hidden, 'more option')}: \`slotwatch plan ${esc(report.seeds.join(','))}\` lists every one.`,
  );
  return { text: `${plural(options.length, 'repair option')} for ${esc(cluster)}`, blocks };
}

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

const people = (users: readonly string[]) => {
  const tags = users.map((u) => `${mention(u)}`);
  return tags.length <= 1 ? (tags[0] ?? '') : `${tags.slice(0, -1).join(', ')} and ${tags.at(-1)}`;
};

/** Said while pending when the people left who may approve are fewer than the approvals still needed. */
export function approverShortfall(r: RepairRequest): string | null {
  if (r.status !== 'pending' || !r.eligible || r.eligible.unresolvedGroups.length > 0) return null;
  const voted = new Set([r.requester, ...r.approvals.map((v) => v.user)]);
  const left = r.eligible.users.filter((u) => !voted.has(u));
  const needed = r.required - r.approvals.length;
  if (left.length >= needed) return null;
  const who =
    left.length === 0
      ? 'nobody else on the approver list can approve it'
      : `only ${people(left)} can still approve it`;
  return `:warning: *This request cannot be approved as it stands:* it needs ${plural(needed, 'more approval')}, but ${who} (the requester never counts). Add people to SLACK_APPROVERS, or ask another approver to request it.`;
}

const riskBlocks = (r: RepairRequest): KnownBlock[] => {
  const o = r.option;
  if (o.risk !== 'data-loss') return [mrkdwn(':white_check_mark: *Safe:* loses no data')];
  const why = o.loss && o.loss.keys === null ? [context(esc(truncate(o.loss.description, 600)))] : [];
  return [mrkdwn(`:warning: *Loses data.* ${lossSentence(o, r.lossHolders)}`), ...why];
};

function statusText(r: RepairRequest, progress: RepairProgress | null): string {
  if (r.status === 'running' && progress?.current)
    return `${STATUS_TEXT.running}: step ${progress.current} of ${progress.steps.length}`;
  return STATUS_TEXT[r.status];
}

function timeField(r: RepairRequest, progress: RepairProgress | null, now: number): string {
  if (r.status === 'pending') return `*Expires*\n${slackDate(r.expiresAt)}`;
  if (!progress?.startedAt) {
    // Only a request that got its approvals has an approval time; a rejected or expired one never had one.
    const last = r.approvals.at(-1);
    if (last && r.approvals.length >= r.required) return `*Approved*\n${slackDate(last.at)}`;
    return `*Closed*\n${r.status}, never approved`;
  }
  const elapsed = duration((progress.endedAt ?? now) - progress.startedAt);
  return `*Started*\n${slackDate(progress.startedAt, '{time_secs}')} · ${progress.endedAt ? 'took' : 'elapsed'} ${elapsed}`;
}

/**
 * The approval message, which is also the repair's one progress message (edited in place): what, why, risk,
 * who asked and approved, each step's status, the result, and the buttons while they mean something.
 */
export function requestMessage(
  r: RepairRequest,
  progress: RepairProgress | null = null,
  now = Date.now(),
): SlackMessage {
  const o = r.option;
  const votes =
    r.approvals.map((v) => `${mention(v.user)} ${slackDate(v.at, '{time}')}`).join(', ') || 'none yet';
  const final = FINAL_STATUSES.includes(r.status);
  const blocks: KnownBlock[] = [
    header(`Repair request: ${esc(o.title)}`),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Cluster*\n${esc(r.cluster)}` },
        { type: 'mrkdwn', text: `*Status*\n${statusText(r, progress)}` },
        { type: 'mrkdwn', text: `*Requested by*\n${mention(r.requester)} ${slackDate(r.createdAt)}` },
        {
          type: 'mrkdwn',
          text: `*Approvals*\n${r.approvals.length} of ${plural(r.required, 'approval')}: ${votes}`,
        },
        { type: 'mrkdwn', text: timeField(r, progress, now) },
        { type: 'mrkdwn', text: `*Option*\n\`${esc(o.id)}\`` },
      ],
    },
  ];
  if (r.incident) {
    const incident = r.incident.permalink
      ? `<${r.incident.permalink}|the open incident>`
      : 'the open incident';
    blocks.push(
      context(
        `:rotating_light: Requested for ${incident} on ${esc(r.cluster)}, opened ${slackDate(r.incident.openedAt)}.`,
      ),
    );
  }
  blocks.push(mrkdwn(esc(truncate(o.explanation, 2000))), ...riskBlocks(r));
  const shortfall = approverShortfall(r);
  if (shortfall) blocks.push(mrkdwn(shortfall));
  if (progress?.startedAt) {
    const elapsed = duration((progress.endedAt ?? now) - progress.startedAt);
    blocks.push(
      mrkdwn(
        `*Progress* · ${stepSummary(progress)} · ${progress.endedAt ? 'took' : 'elapsed'} ${elapsed}\n${stepChecklist(progress, final, now)}`,
      ),
    );
  } else {
    blocks.push(mrkdwn(`*${plural(o.steps.length, 'Step')}*\n${steps(o)}`));
  }
  if (progress?.resumedAt && !final)
    blocks.push(
      context(
        `:arrows_counterclockwise: Resumed by another worker ${slackDate(progress.resumedAt, '{time_secs}')}: it finishes the approved repair from where it stopped.`,
      ),
    );
  if (progress?.banner) blocks.push(mrkdwn(progress.banner));
  if (r.rejectedBy)
    blocks.push(mrkdwn(`:no_entry: Rejected by ${mention(r.rejectedBy.user)} ${slackDate(r.rejectedBy.at)}`));
  if (r.cancelledBy)
    blocks.push(
      mrkdwn(
        `:octagonal_sign: Cancel asked by ${mention(r.cancelledBy.user)} ${slackDate(r.cancelledBy.at)}`,
      ),
    );
  if (r.outcome) blocks.push(mrkdwn(`*${final ? 'Result' : 'Outcome'}:* ${esc(r.outcome)}`));
  if (r.status === 'pending') {
    const confirm =
      o.risk === 'data-loss'
        ? {
            confirm: {
              title: { type: 'plain_text' as const, text: 'Approve a repair that loses data?' },
              text: {
                type: 'mrkdwn' as const,
                text: truncate(lossSentence(o, r.lossHolders), 300),
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
  const step =
    r.status === 'running' && progress?.current ? `, step ${progress.current} of ${o.steps.length}` : '';
  return { text: `Repair request for ${esc(r.cluster)}: ${esc(o.title)} (${r.status}${step})`, blocks };
}
