import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { Config } from '../config.js';
import { planRepairs } from '../core/repair/planner.js';
import type { AuditLog } from '../jobs/audit.js';
import type { Outbox } from '../jobs/outbox.js';
import type { RepairService } from '../jobs/repair-service.js';
import type { IncidentLink } from '../jobs/requests.js';
import type { Approvers } from './approvers.js';
import { lossHolders } from './blocks/data-loss.js';
import { esc, mention } from './blocks/limits.js';
import { plural } from './blocks/plural.js';
import { optionsMessage } from './blocks/repair-blocks.js';
import { slackDate } from './blocks/slack-date.js';
import type { InFlight } from './in-flight.js';
import { ephemeral } from './respond.js';

export interface RepairDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly diagnose: DiagnoseCluster;
  readonly inFlight: InFlight;
  /** Null when QUEUE_REDIS_URL is not set. */
  readonly repairs: RepairService | null;
  readonly audit: AuditLog | null;
  readonly approvers: Approvers;
  /** Where messages for Slack are queued (null without a queue Redis). */
  readonly outbox: Outbox | null;
  /** Whether the queue Redis answers right now. */
  queueUp(): Promise<boolean>;
  /** True when this exact click (user, action, action_ts, value) was seen before: a replay. */
  replayed(click: string): Promise<boolean>;
  /** The cluster's open incident (its top message), to link a request and the incident both ways. */
  incidentOf?(cluster: string): Promise<{
    channel: string;
    ts: string | null;
    openedAt: number;
    permalink?: string | null;
  } | null>;
}

/** Why repairs cannot be asked for right now, or null. */
async function unavailable(deps: RepairDeps): Promise<string | null> {
  if (deps.config.readOnly)
    return 'Slotwatch runs with READ_ONLY=true: every repair path is off. Reports still work.';
  if (!deps.repairs) return 'Repairs are unavailable: QUEUE_REDIS_URL is not configured.';
  if (!(await deps.queueUp()))
    return 'Repairs are unavailable right now: the queue Redis does not answer. `/redis status` still works; nothing queued is lost.';
  return null;
}

export async function fixCommand(deps: RepairDeps, clusterName: string, respond: RespondFn): Promise<void> {
  const why = await unavailable(deps);
  if (why) return void (await ephemeral(respond, `:no_entry: ${why}`));
  const cluster = deps.config.clusters.find((c) => c.name === clusterName);
  if (!cluster) return;
  const report = await deps.diagnose(cluster);
  if (!report.ok)
    return void (await ephemeral(
      respond,
      `:warning: Could not diagnose \`${esc(clusterName)}\`: ${esc(report.error.message)}`,
    ));
  await respond({
    response_type: 'ephemeral',
    ...optionsMessage(clusterName, planRepairs(report.value), report.value),
  });
}

export async function jobsCommand(deps: RepairDeps, clusterName: string, respond: RespondFn): Promise<void> {
  if (!deps.repairs)
    return void (await ephemeral(respond, 'Repairs are unavailable: QUEUE_REDIS_URL is not configured.'));
  const requests = (await deps.repairs.store.recent(30)).filter((r) => r.cluster === clusterName);
  if (requests.length === 0)
    return void (await ephemeral(respond, `No repair requests for \`${esc(clusterName)}\`.`));
  const lines = requests.map(
    (r) =>
      `• \`${esc(r.id)}\` *${r.status}* — ${esc(r.option.title)} (by ${mention(r.requester)}, ${r.approvals.length} of ${plural(r.required, 'approval')})${r.outcome ? `: ${esc(r.outcome)}` : ''}`,
  );
  await respond({
    response_type: 'ephemeral',
    text: `*Repairs for ${esc(clusterName)}*\n${lines.join('\n')}`,
  });
}

export async function auditCommand(
  deps: RepairDeps,
  clusterName: string,
  request: string,
  respond: RespondFn,
): Promise<void> {
  if (!deps.audit)
    return void (await ephemeral(
      respond,
      'The audit log lives in the queue Redis, which is not configured.',
    ));
  const entries = (await deps.audit.read(clusterName))
    .filter((e) => request === '' || e.request === request)
    .slice(-40);
  const lines = entries.map(
    (e) =>
      `${slackDate(e.at, '{date_short} {time_secs}')} ${e.event} ${mention(e.user)} \`${esc(e.request)}\` ${esc(e.detail)}`,
  );
  const scope =
    request === '' ? `\`${esc(clusterName)}\`` : `request \`${esc(request)}\` on \`${esc(clusterName)}\``;
  await respond({
    response_type: 'ephemeral',
    text: lines.length > 0 ? `*Audit for ${scope}*\n${lines.join('\n')}` : `No audit entries for ${scope}.`,
  });
}

type ButtonArgs = { body: BlockAction; action: ButtonAction; respond: RespondFn };

/** The cluster's open incident (where its top message is, once it landed), or null. */
async function openIncident(deps: RepairDeps, cluster: string): Promise<IncidentLink | null> {
  const open = await deps.incidentOf?.(cluster).catch(() => null);
  if (!open?.ts) return null;
  return { channel: open.channel, ts: open.ts, openedAt: open.openedAt, permalink: open.permalink ?? null };
}

async function requestRepair(deps: RepairDeps, { body, action, respond }: ButtonArgs): Promise<void> {
  const why = await unavailable(deps);
  if (why || !deps.repairs) return void (await ephemeral(respond, `:no_entry: ${why}`));
  const { c, o, f } = JSON.parse(action.value ?? '{}') as { c?: string; o?: string; f?: string };
  const cluster = deps.config.clusters.find((x) => x.name === c);
  const channel = body.channel?.id;
  if (!cluster || !o || !channel)
    return void (await ephemeral(respond, 'This button no longer matches a configured cluster.'));
  const report = await deps.diagnose(cluster);
  if (!report.ok)
    return void (await ephemeral(
      respond,
      `:warning: Could not diagnose \`${esc(cluster.name)}\`: ${esc(report.error.message)}`,
    ));
  const option = planRepairs(report.value).find((x) => x.id === o);
  if (!option || option.fingerprint !== f) {
    return void (await ephemeral(
      respond,
      `:warning: \`${esc(cluster.name)}\` changed since these options were listed; run \`/redis fix ${esc(cluster.name)}\` again.`,
    ));
  }
  const incident = await openIncident(deps, cluster.name);
  const request = await deps.repairs.create({
    cluster: cluster.name,
    option,
    requester: body.user.id,
    channel,
    incident,
    eligible: deps.approvers.configured ? await deps.approvers.eligible(body.user.id) : null,
    lossHolders: lossHolders(option, report.value),
  });
  // Slack shows it when it can: the request's message was queued with it; its notes are queued here.
  const self = { kind: 'request', id: request.id } as const;
  if (!deps.approvers.configured)
    await deps.outbox?.post(channel, self, { kind: 'no-approvers', request: request.id });
  if (incident)
    await deps.outbox?.post(
      incident.channel,
      { kind: 'incident', cluster: cluster.name, openedAt: incident.openedAt },
      {
        kind: 'request-link',
        request: request.id,
        user: body.user.id,
        title: option.title,
        required: request.required,
        dataLoss: option.risk === 'data-loss',
      },
    );
  deps.log.info({ request: request.id, cluster: cluster.name, option: option.id }, 'repair requested');
}

const REFUSALS: Record<string, string> = {
  missing: 'This request no longer exists.',
  self: 'You requested this repair: someone else has to approve it.',
  twice: 'You already approved this request; it needs another person.',
  expired: 'This request expired; its buttons no longer work. Ask again with `/redis fix`.',
  'not-pending': 'This request is closed; nothing changed.',
};

async function vote(
  deps: RepairDeps,
  kind: 'approve' | 'reject',
  { body, action, respond }: ButtonArgs,
): Promise<void> {
  const why = await unavailable(deps);
  if (why || !deps.repairs)
    return void (await ephemeral(
      respond,
      `:no_entry: ${why} Your click changed nothing: click again once it answers.`,
    ));
  if (!deps.approvers.configured) {
    return void (await ephemeral(
      respond,
      ':no_entry: No approver list is configured (SLACK_APPROVERS), so nobody can approve or reject repairs.',
    ));
  }
  const user = body.user.id;
  const id = action.value ?? '';
  if (!(await deps.approvers.includes(user))) {
    await deps.repairs.refused(id, user, `${kind}: not on the approver list`);
    return void (await ephemeral(
      respond,
      ':no_entry: You are not on the approver list for repairs; your click changed nothing.',
    ));
  }
  const result = await deps.repairs.vote(id, user, kind);
  // Slack shows the latest version only: a render of an older copy never overwrites a newer one.
  if (result.request) await deps.repairs.changed(result.request.id);
  const refusal =
    result.result === 'not-pending' && result.request?.status === 'expired'
      ? REFUSALS.expired
      : REFUSALS[result.result];
  if (refusal) {
    const why = result.request?.status === 'expired' ? 'expired' : result.result;
    await deps.repairs.refused(id, user, `${kind}: ${why}`);
    await ephemeral(respond, `:no_entry: ${refusal}`);
  }
}

async function cancel(deps: RepairDeps, { body, action, respond }: ButtonArgs): Promise<void> {
  if (!deps.repairs) return;
  if (!deps.approvers.configured || !(await deps.approvers.includes(body.user.id))) {
    await deps.repairs.refused(action.value ?? '', body.user.id, 'cancel: not on the approver list');
    return void (await ephemeral(respond, ':no_entry: Only approvers can cancel a repair.'));
  }
  const { result } = await deps.repairs.cancel(action.value ?? '', body.user.id);
  const answers: Record<typeof result, string> = {
    cancelled: 'Cancelled: it had not started, so no step ran.',
    asked: 'Cancel asked: the repair stops before its next step and reports where.',
    already: 'Cancel was already asked: the repair stops before its next step.',
    closed: 'This repair is not queued or running: nothing changed.',
    missing: 'This request no longer exists.',
  };
  await ephemeral(respond, answers[result]);
}

/** The buttons of repair options and approval messages. Every handler checks who clicked. */
export function registerRepairActions(app: App, deps: RepairDeps): void {
  const handle = (name: string, run: (args: ButtonArgs) => Promise<void>) =>
    app.action<BlockAction<ButtonAction>>(name, async ({ ack, body, action, respond }) => {
      await ack();
      await deps.inFlight.track(
        (async () => {
          if (await deps.replayed(`${body.user.id}:${name}:${action.action_ts}:${action.value ?? ''}`)) {
            await deps.repairs?.refused(
              name === 'request_repair' ? '' : (action.value ?? ''),
              body.user.id,
              `${name}: replayed click`,
            );
            return void (await ephemeral(
              respond,
              ':no_entry: This click was already handled; nothing changed.',
            ));
          }
          await run({ body, action, respond });
        })().catch(async (error: unknown) => {
          deps.log.error({ err: error, action: name }, 'repair action failed');
          await ephemeral(
            respond,
            `:warning: That did not work: ${esc(error instanceof Error ? error.message : String(error))}`,
          ).catch(() => {});
        }),
      );
    });
  handle('request_repair', (args) => requestRepair(deps, args));
  handle('approve_repair', (args) => vote(deps, 'approve', args));
  handle('reject_repair', (args) => vote(deps, 'reject', args));
  handle('cancel_repair', (args) => cancel(deps, args));
  handle('plan_again', async ({ action, respond }) =>
    fixCommand(deps, action.value ?? deps.config.defaultCluster, respond),
  );
}
