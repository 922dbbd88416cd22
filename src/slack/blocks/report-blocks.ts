import type { KnownBlock } from '@slack/types';
import type { Finding, NodeReport, Report } from '../../core/report.js';
import { formatRanges, SLOT_COUNT } from '../../core/slot-ranges.js';
import { codeTable, context, esc, fitBlocks, header, LIMITS, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import { slackDate } from './slack-date.js';

export interface SlackMessage {
  readonly text: string;
  readonly blocks: KnownBlock[];
}

/** `status`: the incident view; `slots`: coverage only; `nodes`: the node table; `check`: everything. */
export type ReportView = 'status' | 'slots' | 'nodes' | 'check';

const SEVERITY_EMOJI = {
  error: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':large_blue_circle:',
} as const;

const shortId = (id: string | null) => (id ? id.slice(0, 8) : '-');

function nodeName(report: Report, id: string | null): string {
  const node = id ? report.nodes.find((n) => n.id === id) : undefined;
  return node?.address ? `${node.address} (${shortId(id)})` : shortId(id);
}

function verdict(report: Report): { emoji: string; word: string } {
  const down = report.findings.some((f) => f.code === 'CLUSTER_DOWN');
  if (down) return { emoji: ':red_circle:', word: 'CLUSTERDOWN' };
  if (report.state === 'fail') return { emoji: ':red_circle:', word: 'FAIL' };
  if (report.findings.some((f) => f.severity === 'error')) return { emoji: ':red_circle:', word: 'errors' };
  if (report.findings.some((f) => f.severity === 'warning'))
    return { emoji: ':large_orange_circle:', word: 'OK, with warnings' };
  return { emoji: ':large_green_circle:', word: 'OK' };
}

function coverageLine(report: Report): string {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  const percent = ((report.slots.covered / SLOT_COUNT) * 100).toFixed(1);
  return `*${report.slots.covered}/${SLOT_COUNT} slots covered* (${percent}%) · ${report.slots.uncovered} uncovered · ${plural(report.nodes.length, 'node')} · ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

function gapsBlock(report: Report, cluster: string): KnownBlock | null {
  if (report.slots.gaps.length === 0) return null;
  const rows = report.slots.gaps.map(
    (g) =>
      `${formatRanges([[g.start, g.end]]).padEnd(12)} ${String(g.end - g.start + 1).padStart(5)}  ${g.reason.padEnd(17)} ${nodeName(report, g.owner).padEnd(30)} ${g.keys === null ? 'unknown' : plural(g.keys, 'key')}`,
  );
  return mrkdwn(
    `*Slot gaps*\n${codeTable(rows, (n) => `… and ${plural(n, 'more range')}: \`/redis check ${esc(cluster)}\` or \`slotwatch check\``)}`,
  );
}

function openSlotsBlock(report: Report): KnownBlock | null {
  if (report.openSlots.length === 0) return null;
  const rows = report.openSlots.map(
    (o) =>
      `${String(o.slot).padEnd(6)} ${o.state.padEnd(9)} ${nodeName(report, o.node).padEnd(30)} ${o.state === 'migrating' ? '→' : '←'} ${nodeName(report, o.peer).padEnd(30)} ${o.nodeKeys ?? '?'}/${o.peerKeys ?? '?'} keys${o.live ? ' (moving)' : ''}`,
  );
  return mrkdwn(`*Open slots*\n${codeTable(rows, (n) => `… and ${plural(n, 'more open slot')}`)}`);
}

function nodeTrouble(n: NodeReport): string | null {
  if (n.flags.includes('fail')) return `FAIL${n.reachable ? '' : `, ${n.error ?? 'unreachable'}`}`;
  if (!n.reachable) return `unreachable: ${n.error ?? 'no answer'}`;
  if (n.flags.includes('fail?')) return 'PFAIL';
  if (n.replicaLinkUp === false) return 'replication link down';
  return null;
}

function nodesBlock(report: Report, all: boolean): KnownBlock | null {
  const listed = report.nodes
    .map((n) => ({ n, trouble: nodeTrouble(n) }))
    .filter(({ trouble }) => all || trouble !== null);
  if (listed.length === 0) return null;
  const rows = listed.map(
    ({ n, trouble }) =>
      `${(n.address ?? '(no address)').padEnd(22)} ${shortId(n.id)} ${(n.role === 'replica' ? `replica of ${shortId(n.replicaOf)}` : n.role).padEnd(20)} ${formatRanges(n.slots, 2).padEnd(24)} ${trouble ?? 'ok'}`,
  );
  return mrkdwn(
    `*${all ? 'Nodes' : 'Nodes that need attention'}*\n${codeTable(rows, (k) => `… and ${plural(k, 'more node')}`, 25)}`,
  );
}

function findingBlock(f: Finding): KnownBlock {
  const body = `${SEVERITY_EMOJI[f.severity]} *${f.code}* ${esc(f.summary)}\n*Next:* ${esc(f.next)}\n_Runbook: “${esc(f.runbook)}”_`;
  return mrkdwn(truncate(body, LIMITS.sectionText));
}

/** Block Kit for a report, always inside Slack's limits, with a plain-text fallback for notifications. */
export function reportMessage(
  report: Report,
  cluster: string,
  view: ReportView,
  { fixButton = false } = {},
): SlackMessage {
  const { emoji, word } = verdict(report);
  const title = header(`${emoji} ${esc(cluster)}: ${word}`);
  const summary = mrkdwn(coverageLine(report));
  const when = context(
    `Cluster *${esc(cluster)}* · probed ${slackDate(Date.parse(report.probedAt), '{date_short_pretty} {time_secs}')} in ${report.durationMs} ms · seeds ${esc(report.seeds.join(','))}`,
  );
  const present = (blocks: (KnownBlock | null)[]) => blocks.filter((b): b is KnownBlock => b !== null);
  const findings = report.findings.filter((f) => view === 'check' || f.severity !== 'info');
  const withFindings = view === 'status' || view === 'check';
  const divider: KnownBlock | null = withFindings && findings.length > 0 ? { type: 'divider' } : null;
  const essential =
    view === 'nodes'
      ? present([title, summary, nodesBlock(report, true)])
      : view === 'slots'
        ? present([title, summary, gapsBlock(report, cluster), openSlotsBlock(report)])
        : present([
            title,
            summary,
            gapsBlock(report, cluster),
            openSlotsBlock(report),
            nodesBlock(report, view === 'check'),
            divider,
          ]);
  const optional = withFindings ? findings.map(findingBlock) : [];
  const actions: KnownBlock[] =
    fixButton && report.findings.some((f) => f.severity === 'error')
      ? [
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                text: { type: 'plain_text', text: 'Plan a fix' },
                action_id: 'plan_again',
                value: cluster,
              },
            ],
          },
        ]
      : [];
  const blocks = fitBlocks(
    essential,
    optional,
    [...actions, when],
    (hidden) =>
      `… and ${plural(hidden, 'more finding')}: \`/redis check ${esc(cluster)}\` or \`slotwatch check ${esc(report.seeds.join(','))}\``,
  );
  const errors = report.findings.filter((f) => f.severity === 'error').map((f) => f.code);
  const text = `${esc(cluster)}: ${word} — ${report.slots.covered}/${SLOT_COUNT} slots covered, ${report.slots.uncovered} uncovered${errors.length > 0 ? `; ${errors.join(', ')}` : ''}`;
  return { text, blocks };
}
