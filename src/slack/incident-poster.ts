import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import { sleep } from '../core/pool.js';
import type { Report } from '../core/report.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { IncidentChange, IncidentPoster } from '../jobs/incidents.js';
import { slotMapPng } from '../render/slot-map.js';
import { context, esc, header, LIMITS, mrkdwn, truncate } from './blocks/limits.js';
import { reportMessage } from './blocks/report-blocks.js';

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

export function changeText(change: IncidentChange): string {
  const lines = [
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
  return {
    async open(cluster, channel, report, problem, trigger) {
      await turn(channel);
      const message = report
        ? reportMessage(report, cluster, 'status', { fixButton })
        : {
            text: `${esc(cluster)}: unreachable`,
            blocks: [header(`:red_circle: ${cluster}: cannot be diagnosed`), mrkdwn(esc(problem))],
          };
      const why = context(`Looked because of ${triggerText(trigger)}`);
      const blocks =
        message.blocks.length < LIMITS.blocks
          ? [...message.blocks.slice(0, 2), why, ...message.blocks.slice(2)]
          : message.blocks;
      const posted = await call(
        client.chat.postMessage({
          channel,
          blocks,
          text: `:rotating_light: Incident: ${message.text}`,
        }),
      );
      if (report && posted.ts) {
        await turn(channel);
        await uploadSlotMap(client, channel, posted.ts, report, cluster, log);
      }
      return posted.ts ?? null;
    },
    async reply(channel, ts, change) {
      await turn(channel);
      await call(client.chat.postMessage({ channel, thread_ts: ts, text: changeText(change) })).catch(
        (error: unknown) => log.warn({ err: error }, 'incident reply failed'),
      );
    },
    async recovered(cluster, channel, ts, report: Report, minutes) {
      await turn(channel);
      const text = `:white_check_mark: ${esc(cluster)} recovered after ${minutes} min: ${report.slots.covered}/${SLOT_COUNT} slots covered, cluster_state ok on every node.`;
      await call(client.chat.postMessage({ channel, thread_ts: ts, text }));
      await turn(channel);
      const message = reportMessage(report, cluster, 'status');
      await call(
        client.chat.update({
          channel,
          ts,
          text: `${text}`,
          blocks: [
            header(`:white_check_mark: ${cluster}: recovered after ${minutes} min`),
            ...message.blocks.slice(1),
          ],
        }),
      ).catch((error: unknown) => log.warn({ err: error }, 'incident top message update failed'));
    },
  };
}
