import type { RespondFn } from '@slack/bolt';
import type { IncidentService } from '../jobs/incidents.js';
import type { Timelines } from '../jobs/timeline.js';
import { esc } from './blocks/limits.js';
import { timelineMessage } from './blocks/timeline-blocks.js';
import { ephemeral } from './respond.js';
import { timelineFile } from './timeline-poster.js';

/** `/redis timeline [cluster]`: the open incident's timeline so far, else the last closed one's. */
export async function timelineCommand(
  incidents: IncidentService | null,
  timelines: Timelines | null,
  cluster: string,
  respond: RespondFn,
): Promise<void> {
  if (!incidents || !timelines)
    return void (await ephemeral(respond, 'Timelines live in the queue Redis, which is not configured.'));
  const open = await incidents.current(cluster);
  const timeline = open
    ? await timelines.build({
        cluster,
        openedAt: open.openedAt,
        channel: open.channel,
        ts: open.ts,
        trigger: open.trigger ?? { cluster, source: 'monitor', status: 'tick', summary: '' },
        recoveredAt: null,
      })
    : await timelines.last(cluster);
  if (!timeline) return void (await ephemeral(respond, `No incident timeline for \`${esc(cluster)}\` yet.`));
  const message = timelineMessage(timeline, open ? null : timelineFile(timeline));
  await respond({ response_type: 'ephemeral', ...message });
}
