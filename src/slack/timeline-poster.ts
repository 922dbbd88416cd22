import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { IncidentPoster } from '../jobs/incidents.js';
import type { Timeline, Timelines } from '../jobs/timeline.js';
import { timelineMessage } from './blocks/timeline-blocks.js';

export const timelineFile = (t: Timeline): string => `timeline-${t.incident.id}.json`;

/** Posts the timeline in the incident thread and attaches it as JSON; a failure costs the post, never the incident. */
export async function postTimeline(
  client: WebClient,
  channel: string,
  ts: string,
  timeline: Timeline,
  log: Logger,
): Promise<void> {
  const filename = timelineFile(timeline);
  try {
    await client.chat.postMessage({ channel, thread_ts: ts, ...timelineMessage(timeline, filename) });
    await client.files.uploadV2({
      channel_id: channel,
      thread_ts: ts,
      file: Buffer.from(`${JSON.stringify(timeline, null, 2)}\n`),
      filename,
      title: `Timeline of the ${timeline.cluster} incident (JSON)`,
    });
  } catch (error) {
    log.warn({ err: error, cluster: timeline.cluster }, 'timeline post failed');
  }
}

/** The incident poster, plus the timeline in the thread at recovery (kept for `/redis timeline`). */
export function withTimeline(
  poster: IncidentPoster,
  deps: { client: WebClient; timelines: Timelines | null; log: Logger },
): IncidentPoster {
  const { timelines } = deps;
  if (!timelines) return poster;
  return {
    ...poster,
    async recovered(channel, ts, view) {
      await poster.recovered(channel, ts, view);
      await timelines.settled(view.cluster).catch(() => {});
      const timeline = await timelines
        .build({
          cluster: view.cluster,
          openedAt: view.openedAt,
          channel,
          ts,
          trigger: view.trigger,
          recoveredAt: view.now,
        })
        .catch((error: unknown) => {
          deps.log.warn({ err: error, cluster: view.cluster }, 'timeline build failed');
          return null;
        });
      if (!timeline) return;
      await timelines
        .keep(timeline)
        .catch((error: unknown) => deps.log.warn({ err: error }, 'timeline not kept'));
      // Without a thread to post it in, the timeline is still kept for `/redis timeline`.
      if (ts !== null) await postTimeline(deps.client, channel, ts, timeline, deps.log);
    },
  };
}
