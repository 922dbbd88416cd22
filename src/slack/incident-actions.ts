import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { Logger } from 'pino';
import type { IncidentService } from '../jobs/incidents.js';
import { esc, mention } from './blocks/limits.js';
import type { InFlight } from './in-flight.js';
import { ephemeral } from './respond.js';
import { silenceCommand } from './silence-command.js';

export interface IncidentActionDeps {
  readonly incidents: IncidentService | null;
  readonly inFlight: InFlight;
  readonly log: Logger;
  readonly clusters: readonly string[];
}

/** The incident post's own buttons: "I'm on it" (anyone in the channel may own it; audited) and Silence 2h. */
export function registerIncidentActions(app: App, deps: IncidentActionDeps): void {
  // Link buttons (runbook, dashboard, alert source) open in the browser; Slack still expects an ack.
  app.action(/^incident_link_\d+$/, async ({ ack }) => {
    await ack();
  });
  app.action<BlockAction<ButtonAction>>('ack_incident', async ({ ack, body, action, respond }) => {
    await ack();
    const cluster = action.value ?? '';
    await deps.inFlight.track(
      (async () => {
        if (!deps.incidents || !deps.clusters.includes(cluster))
          return void (await ephemeral(respond, 'This button no longer matches an open incident.'));
        const outcome = await deps.incidents.acknowledge(cluster, body.user.id);
        if (outcome.result === 'none')
          return void (await ephemeral(respond, `\`${esc(cluster)}\` has no open incident any more.`));
        const took =
          outcome.previous && outcome.previous.user !== body.user.id
            ? ` (taken over from ${mention(outcome.previous.user)})`
            : '';
        await ephemeral(respond, `:raising_hand: You own the \`${esc(cluster)}\` incident${took}.`);
      })().catch(async (error: unknown) => {
        deps.log.error({ err: error, cluster }, 'acknowledge failed');
        await ephemeral(respond, ':warning: That did not work; try again.').catch(() => {});
      }),
    );
  });
  app.action<BlockAction<ButtonAction>>('silence_incident', async ({ ack, action, respond }) => {
    await ack();
    const cluster = action.value ?? '';
    await deps.inFlight.track(
      (async () => {
        if (!deps.clusters.includes(cluster))
          return void (await ephemeral(respond, 'This button no longer matches a configured cluster.'));
        await silenceCommand(deps.incidents, cluster, '2h', (message) =>
          respond(typeof message === 'string' ? message : { ...message, replace_original: false }),
        );
      })().catch(async (error: unknown) => {
        deps.log.error({ err: error, cluster }, 'silence failed');
        await ephemeral(respond, ':warning: That did not work; try again.').catch(() => {});
      }),
    );
  });
}
