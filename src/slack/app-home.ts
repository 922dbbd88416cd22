import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { ClusterConfig } from '../config.js';
import type { DiagnoseError } from '../core/diagnose.js';
import { plural } from '../core/finding.js';
import { mapBounded } from '../core/pool.js';
import type { Report } from '../core/report.js';
import type { Result } from '../core/result.js';
import type { IncidentService } from '../jobs/incidents.js';
import type { RepairRequest, RequestStore } from '../jobs/requests.js';
import type { Approvers } from './approvers.js';
import { context, esc, header, mention, mrkdwn, truncate } from './blocks/limits.js';
import { slackDate } from './blocks/slack-date.js';

/** A Home tab holds at most 100 blocks. */
const MAX_HOME_BLOCKS = 100;
/** Clusters probed at once while the tab is drawn. */
const PROBES_AT_ONCE = 4;

export interface AppHomeDeps {
  readonly clusters: readonly ClusterConfig[];
  readonly diagnose: DiagnoseCluster;
  /** Null without a queue Redis (no incidents, no repairs). */
  readonly incidents: IncidentService | null;
  readonly requests: RequestStore | null;
  readonly approvers: Approvers;
  readonly requiredApprovals: number;
  readonly log: Logger;
  readonly now?: () => number;
}

type Probed = Result<Report, DiagnoseError> | 'checking';

interface ClusterLine {
  readonly cluster: ClusterConfig;
  readonly probed: Probed;
  readonly incident: { channel: string; openedAt: number; owner: string | null } | null;
  readonly silencedUntil: number | null;
}

const percent = (slots: number) => `${Math.round((slots / 16384) * 100)}%`;

/** One line per cluster: the state word first, as an on-call person scans it. */
function clusterLine({ cluster, probed, incident, silencedUntil }: ClusterLine, now: number): string {
  const name = `*${esc(cluster.name)}*`;
  const extra = [
    incident
      ? `incident open since ${slackDate(incident.openedAt)} in <#${esc(incident.channel)}>${incident.owner ? `, ${mention(incident.owner)} on it` : ', nobody on it yet'}`
      : null,
    silencedUntil && silencedUntil > now ? `alerts silenced until ${slackDate(silencedUntil)}` : null,
  ]
    .filter((part) => part !== null)
    .join(' · ');
  const tail = extra ? ` · ${extra}` : '';
  if (probed === 'checking') return `:hourglass_flowing_sand: ${name} checking…${tail}`;
  if (!probed.ok) return `:grey_question: ${name} could not be read: ${esc(probed.error.message)}${tail}`;
  const report = probed.value;
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  const nodes = plural(report.nodes.length, 'node');
  if (report.state === 'fail') {
    const down = report.slots.uncovered;
    const what =
      down > 0
        ? `CLUSTERDOWN · ${plural(down, 'slot')} (${percent(down)}) down`
        : `FAIL · ${plural(errors, 'error')}`;
    return `:red_circle: ${name} ${what} · ${nodes}${tail}`;
  }
  if (warnings > 0)
    return `:large_orange_circle: ${name} ok, ${plural(warnings, 'warning')} · ${nodes}${tail}`;
  return `:large_green_circle: ${name} ok · all 16384 slots served · ${nodes}${tail}`;
}

function requestLine(request: RepairRequest, user: string, canApprove: boolean): string {
  const voted = request.approvals.some((v) => v.user === user);
  const yours =
    request.requester === user
      ? 'you asked for it (someone else must approve)'
      : voted
        ? 'you approved it'
        : canApprove
          ? '*you can approve it*'
          : 'you are not on the approver list';
  const risk = request.option.risk === 'data-loss' ? ' :warning: *can lose data*' : '';
  return `• *${esc(request.cluster)}* — ${esc(truncate(request.option.title, 200))}${risk}\n  by ${mention(request.requester)} · ${request.approvals.length}/${request.required} approvals · expires ${slackDate(request.expiresAt)} · <#${esc(request.channel)}> · ${yours}`;
}

/** The Home tab: approvals waiting first, then repairs under way, then every cluster's state. */
export async function homeView(
  deps: AppHomeDeps,
  user: string,
  probes: ReadonlyMap<string, Probed>,
): Promise<{ type: 'home'; blocks: KnownBlock[] }> {
  const now = (deps.now ?? Date.now)();
  const requests = deps.requests ? await deps.requests.recent(50).catch(() => null) : [];
  const waiting = (requests ?? []).filter((r) => r.status === 'pending');
  const underway = (requests ?? []).filter((r) => r.status === 'queued' || r.status === 'running');
  const canApprove = await deps.approvers.includes(user).catch(() => false);
  const lines: ClusterLine[] = await Promise.all(
    deps.clusters.map(async (cluster) => {
      const [incident, owner, silencedUntil] = deps.incidents
        ? await Promise.all([
            deps.incidents.current(cluster.name).catch(() => null),
            deps.incidents.owner(cluster.name).catch(() => null),
            deps.incidents.silencedUntil(cluster.name).catch(() => null),
          ])
        : [null, null, null];
      return {
        cluster,
        probed: probes.get(cluster.name) ?? 'checking',
        incident: incident
          ? { channel: incident.channel, openedAt: incident.openedAt, owner: owner?.user ?? null }
          : null,
        silencedUntil,
      };
    }),
  );
  const blocks: KnownBlock[] = [header('Slotwatch')];
  if (requests === null)
    blocks.push(mrkdwn(':warning: The queue Redis does not answer: repairs are unknown.'));
  if (waiting.length > 0) {
    blocks.push(mrkdwn(`*Waiting for approval (${waiting.length})*`));
    for (const r of waiting) blocks.push(mrkdwn(requestLine(r, user, canApprove)));
  }
  if (underway.length > 0) {
    blocks.push(mrkdwn(`*Repairs under way (${underway.length})*`));
    for (const r of underway) {
      const step = r.step !== null ? `, step ${r.step} of ${r.option.steps.length}` : '';
      blocks.push(
        mrkdwn(`• *${esc(r.cluster)}* — ${esc(truncate(r.option.title, 200))}: ${r.status}${step}`),
      );
    }
  }
  const open = lines.filter(
    (l) => l.incident || (l.probed !== 'checking' && !(l.probed.ok && l.probed.value.state === 'ok')),
  );
  const calm = lines.filter((l) => !open.includes(l));
  blocks.push(
    mrkdwn(`*Clusters (${lines.length})*${open.length > 0 ? ` · ${open.length} need attention` : ''}`),
  );
  for (const l of [...open, ...calm]) blocks.push(mrkdwn(clusterLine(l, now)));
  if (!deps.requests)
    blocks.push(context('Repairs and incidents are off: QUEUE_REDIS_URL is not configured.'));
  blocks.push(
    context(
      `As of ${slackDate(now, '{date_short_pretty} {time_secs}')} · ${deps.requiredApprovals === 1 ? '1 approval' : `${deps.requiredApprovals} approvals`} needed per repair · open this tab again to refresh`,
    ),
  );
  if (blocks.length > MAX_HOME_BLOCKS) {
    const hidden = blocks.length - (MAX_HOME_BLOCKS - 1);
    return {
      type: 'home',
      blocks: [
        ...blocks.slice(0, MAX_HOME_BLOCKS - 2),
        context(`… and ${hidden} more lines`),
        blocks.at(-1) as KnownBlock,
      ],
    };
  }
  return { type: 'home', blocks };
}

async function publish(client: WebClient, user: string, view: { type: 'home'; blocks: KnownBlock[] }) {
  await client.views.publish({ user_id: user, view });
}

/**
 * Draws the Home tab when someone opens it: at once from what the queue Redis knows (approvals, repairs,
 * incidents), then again with every cluster probed now.
 */
export function registerAppHome(app: App, deps: AppHomeDeps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab !== 'home') return;
    const user = event.user;
    const log = deps.log.child({ user });
    try {
      const probes = new Map<string, Probed>();
      await publish(client, user, await homeView(deps, user, probes));
      await mapBounded(deps.clusters, PROBES_AT_ONCE, async (cluster) => {
        probes.set(cluster.name, await deps.diagnose(cluster));
      });
      await publish(client, user, await homeView(deps, user, probes));
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot draw the Home tab');
    }
  });
}
