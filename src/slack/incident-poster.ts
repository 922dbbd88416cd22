import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { sleep } from '../core/pool.js';
import type { Report } from '../core/report.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { IncidentPoster } from '../jobs/incidents.js';
import { slotMapPng } from '../render/slot-map.js';
import { esc, header, mrkdwn } from './blocks/limits.js';
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

export function slackIncidentPoster(
  client: WebClient,
  redis: Redis,
  prefix: string,
  fixButton: boolean,
  log: Logger,
): IncidentPoster {
  const turn = (channel: string) => takeChannelTurn(redis, prefix, channel);
  return {
    async open(cluster, channel, report, problem) {
      await turn(channel);
      const message = report
        ? reportMessage(report, cluster, 'status', { fixButton })
        : {
            text: `${cluster}: unreachable`,
            blocks: [header(`:red_circle: ${cluster}: cannot be diagnosed`), mrkdwn(esc(problem))],
          };
      const posted = await client.chat.postMessage({
        channel,
        ...message,
        text: `:rotating_light: Incident: ${message.text}`,
      });
      if (report && posted.ts) {
        await turn(channel);
        await uploadSlotMap(client, channel, posted.ts, report, cluster, log);
      }
      return posted.ts ?? null;
    },
    async reply(channel, ts, text) {
      await turn(channel);
      await client.chat
        .postMessage({ channel, thread_ts: ts, text })
        .catch((error: unknown) => log.warn({ err: error }, 'incident reply failed'));
    },
    async recovered(cluster, channel, ts, report: Report, minutes) {
      await turn(channel);
      const text = `:white_check_mark: ${cluster} recovered after ${minutes} min: ${report.slots.covered}/${SLOT_COUNT} slots covered, cluster_state ok on every node.`;
      await client.chat.postMessage({ channel, thread_ts: ts, text });
      await turn(channel);
      const message = reportMessage(report, cluster, 'status');
      await client.chat
        .update({
          channel,
          ts,
          text: `${text}`,
          blocks: [
            header(`:white_check_mark: ${cluster}: recovered after ${minutes} min`),
            ...message.blocks.slice(1),
          ],
        })
        .catch((error: unknown) => log.warn({ err: error }, 'incident top message update failed'));
    },
  };
}
