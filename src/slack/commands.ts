import type { App, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DiagnoseCluster } from '../cluster-probe.js';
import type { Config } from '../config.js';
import { explainError } from '../core/explain.js';
import { KNOWLEDGE_BASE } from '../core/knowledge-base.js';
import { FINDING_CODES, type Report } from '../core/report.js';
import type { Metrics } from '../http/metrics.js';
import type { IncidentService } from '../jobs/incidents.js';
import type { Timelines } from '../jobs/timeline.js';
import { explainMessage } from './blocks/explain-blocks.js';
import { esc, truncate } from './blocks/limits.js';
import { type ReportView, reportMessage } from './blocks/report-blocks.js';
import type { InFlight } from './in-flight.js';
import { registerIncidentActions } from './incident-actions.js';
import { uploadSlotMap } from './incident-poster.js';
import { auditCommand, fixCommand, jobsCommand, type RepairDeps } from './repair-handlers.js';
import { ephemeral } from './respond.js';
import { silenceCommand } from './silence-command.js';
import { timelineCommand } from './timeline-command.js';
import { clusterNames, parseCommand, usage } from './usage.js';

export interface CommandDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly diagnose: DiagnoseCluster;
  readonly inFlight: InFlight;
  readonly repair: RepairDeps;
  /** Null without a queue Redis. */
  readonly incidents: IncidentService | null;
  readonly timelines?: Timelines | null;
}

/** Attaches the slot-map picture of a full report to the channel. */
type Attach = (report: Report, cluster: string) => Promise<void>;

async function answer(
  deps: CommandDeps,
  text: string,
  respond: RespondFn,
  log: Logger,
  attach: Attach,
): Promise<void> {
  const parsed = parseCommand(text, deps.config);
  if (!parsed.ok) {
    deps.metrics.command(parsed.subcommand, 'usage');
    await ephemeral(
      respond,
      parsed.listClusters ? `${parsed.error} Clusters: ${clusterNames(deps.config)}.` : parsed.error,
    );
    return;
  }
  const { subcommand, cluster: name } = parsed;
  switch (subcommand) {
    case 'help':
      await ephemeral(respond, usage(deps.config));
      break;
    case 'clusters': {
      const lines = deps.config.clusters.map(
        (c) =>
          `• \`${esc(c.name)}\`${c.name === deps.config.defaultCluster ? ' (default)' : ''}: ${esc(c.seeds.join(', '))} · alerts in ${esc(c.channel ?? deps.config.alertChannel ?? 'no channel')}`,
      );
      await ephemeral(respond, `*Watched clusters*\n${lines.join('\n')}`);
      break;
    }
    case 'fix':
      await fixCommand(deps.repair, name, respond);
      break;
    case 'silence':
      if (!(await silenceCommand(deps.incidents, name, parsed.rest, respond)))
        return deps.metrics.command(subcommand, 'usage');
      break;
    case 'jobs':
      await jobsCommand(deps.repair, name, respond);
      break;
    case 'audit':
      await auditCommand(deps.repair, name, parsed.rest, respond);
      break;
    case 'timeline':
      await timelineCommand(deps.incidents, deps.timelines ?? null, name, respond);
      break;
    case 'explain': {
      const entry = explainError(parsed.rest);
      if (!entry) {
        deps.metrics.command(subcommand, 'usage');
        await ephemeral(
          respond,
          `No runbook entry matches \`${esc(truncate(parsed.rest, 200))}\`. Give a Redis error or a finding code (${FINDING_CODES.slice(0, 3).join(', ')}, …). Known errors:\n${KNOWLEDGE_BASE.map((e) => `• ${esc(e.title)}`).join('\n')}`,
        );
        return;
      }
      await respond({ response_type: 'in_channel', ...explainMessage(entry) });
      break;
    }
    default: {
      const cluster = deps.config.clusters.find((c) => c.name === name);
      if (!cluster) return;
      const result = await deps.diagnose(cluster);
      if (!result.ok) {
        deps.metrics.command(subcommand, 'error');
        log.warn({ cluster: name, code: result.error.code }, 'diagnosis failed');
        await ephemeral(
          respond,
          `:warning: Could not diagnose \`${esc(name)}\`: ${esc(result.error.message)}`,
        );
        return;
      }
      await respond({
        response_type: 'in_channel',
        ...reportMessage(result.value, name, subcommand as ReportView, {
          fixButton: deps.repair.repairs !== null && !deps.config.readOnly,
        }),
      });
      if (subcommand === 'check') await attach(result.value, name);
    }
  }
  deps.metrics.command(subcommand, 'ok');
}

/** `/redis …`: acknowledged at once, answered through response_url when the diagnosis is done. */
export function registerCommands(app: App, deps: CommandDeps): void {
  registerIncidentActions(app, {
    incidents: deps.incidents,
    inFlight: deps.inFlight,
    log: deps.log,
    clusters: deps.config.clusters.map((c) => c.name),
  });
  app.command('/redis', async ({ command, ack, respond, client }) => {
    await ack();
    const log = deps.log.child({ user: command.user_id, channel: command.channel_id, text: command.text });
    await deps.inFlight.track(
      answer(deps, command.text, respond, log, (report, cluster) =>
        uploadSlotMap(client, command.channel_id, null, report, cluster, log),
      ).catch(async (error: unknown) => {
        deps.metrics.command('unknown', 'error');
        log.error({ err: error }, 'command failed');
        await ephemeral(
          respond,
          `:warning: Slotwatch failed to answer: ${esc(error instanceof Error ? error.message : String(error))}`,
        ).catch(() => {});
      }),
    );
  });
}
