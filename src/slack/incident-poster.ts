import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import { sleep } from '../core/pool.js';
import type { Report } from '../core/report.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { IncidentChange, IncidentPoster, IncidentView } from '../jobs/incidents.js';
import { slotMapPng } from '../render/slot-map.js';
import { incidentMessage } from './blocks/incident-blocks.js';
import { esc, truncate } from './blocks/limits.js';

/**
 * About one post per second per channel, shared by every replica through the queue Redis. The Web API client
 * itself waits out Retry-After on 429.
 */
export async function takeChannelTurn(
  redis: Redis,
  prefix: string,
  channel: string,
  maxWaitMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  while ((await redis.set(`${prefix}:rate:${channel}`, '1', 'PX', 1000, 'NX')) !== 'OK') {
    if (Date.now() > deadline) return;
    await sleep(100);
  }
}

/** Attaches the slot-map picture through Slack's external upload flow; a failure only costs the picture. */
export async function uploadSlotMap(
  client: WebClient,
  channel: string,
  threadTs: string | null,
  report: Report,
  cluster: string,
  log: Logger,
): Promise<void> {
  const file = {
    file: slotMapPng(report, cluster),
    filename: `slot-map-${cluster}.png`,
    title: `Slot map of ${cluster}`,
  };
  await client.files
    .uploadV2(
      threadTs ? { ...file, channel_id: channel, thread_ts: threadTs } : { ...file, channel_id: channel },
    )
    .catch((error: unknown) =>
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'slot map upload failed'),
    );
}

/** The signal that made the bot look, as mrkdwn: its summary is alert text from outside. */
export const triggerText = (trigger: Signal): string =>
  `${trigger.source} ${trigger.status}: ${esc(truncate(trigger.summary, 300))}`;

const ARROWS = { worse: ':small_red_triangle_down: worse', better: ':arrow_up: better', changed: 'changed' };

export function changeText(change: IncidentChange): string {
  const lines = [
    ...change.changed.map(
      (c) => `• ${ARROWS[c.direction]}: ${esc(c.subject)} was ${esc(c.from)}, now *${esc(c.to)}*`,
    ),
    ...change.added.map((s) => `• new: ${esc(s)}`),
    ...change.gone.map((s) => `• cleared: ${esc(s)}`),
  ];
  return `:arrows_counterclockwise: Changed (${triggerText(change.trigger)})\n${lines.join('\n')}`;
}

/** Reports each Web API call's outcome (for /readyz). */
export type SlackCallOutcome = (error: unknown | null) => void;

export function slackIncidentPoster(
  client: WebClient,
  redis: Redis,
  prefix: string,
  fixButton: boolean,
  log: Logger,
  outcome: SlackCallOutcome = () => {},
): IncidentPoster {
  const turn = (channel: string) => takeChannelTurn(redis, prefix, channel);
  const call = async <T>(request: Promise<T>): Promise<T> => {
    try {
      const response = await request;
      outcome(null);
      return response;
    } catch (error) {
      outcome(error);
      throw error;
    }
  };
  const render = (view: IncidentView) => incidentMessage(view, { fixButton });
  const update = async (channel: string, ts: string, view: IncidentView) => {
    await turn(channel);
    await call(client.chat.update({ channel, ts, ...render(view) })).catch((error: unknown) =>
      log.warn({ err: error }, 'incident top message update failed'),
    );
  };
  return {
    async open(channel, view) {
      await turn(channel);
      const message = render(view);
      const posted = await call(client.chat.postMessage({ channel, ...message }));
      if (!posted.ts) return null;
      // Slack accepts a #name here, but chat.update and file uploads need the ID it answers with.
      const id = posted.channel ?? channel;
      if (view.report) {
        await turn(id);
        await uploadSlotMap(client, id, posted.ts, view.report, view.cluster, log);
      }
      return { ts: posted.ts, channel: id };
    },
    update,
    async reply(channel, ts, change) {
      await turn(channel);
      await call(client.chat.postMessage({ channel, thread_ts: ts, text: changeText(change) })).catch(
        (error: unknown) => log.warn({ err: error }, 'incident reply failed'),
      );
    },
    async recovered(channel, ts, view) {
      const { report } = view;
      await turn(channel);
      const text = `:white_check_mark: ${esc(view.cluster)} recovered after ${view.recoveredAfterMinutes} min: ${report?.slots.covered ?? '?'}/${SLOT_COUNT} slots covered, cluster_state ok on every node.`;
      await call(client.chat.postMessage({ channel, thread_ts: ts, text }));
      await update(channel, ts, view);
    },
  };
}
