import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { mappedOf } from '../jobs/incident-changes.js';
import type { IncidentStore } from '../jobs/incident-store.js';
import { incidentRef } from '../jobs/incidents.js';
import type { Outbox } from '../jobs/outbox.js';
import type { PostItem } from '../jobs/outbox-items.js';
import type { Timelines } from '../jobs/timeline.js';
import { healthyAlertMessage } from './blocks/alert-blocks.js';
import { incidentMessage } from './blocks/incident-blocks.js';
import { timelineMessage } from './blocks/timeline-blocks.js';
import { changeText, recoveredText, slotMapFile } from './incident-poster.js';
import { type Rendered, renderedOf, type ViewKind, type Where } from './renderer.js';
import type { SlackCalls } from './slack-calls.js';
import { timelineFile } from './timeline-poster.js';

export interface IncidentRenderDeps {
  readonly client: WebClient;
  readonly calls: SlackCalls;
  readonly store: IncidentStore;
  readonly outbox: Outbox;
  readonly timelines: Timelines | null;
  readonly fixButton: boolean;
  readonly log: Logger;
  readonly now?: () => number;
}

/** The incident's top message: posted once, then edited to its stored view (the latest wins). */
export function incidentView(deps: IncidentRenderDeps): ViewKind {
  const { calls, client, store } = deps;
  const posted = new Map<string, { channel: string; ts: string }>();
  return {
    async render(ref) {
      if (ref.kind !== 'incident') return { result: 'done' };
      const shown = await store.message(ref.cluster, ref.openedAt);
      if (!shown) return { result: 'done' };
      // Who owns it is read now: a look that wrote the view just before "I'm on it" must not hide the owner.
      const open = (await store.record(ref.cluster))?.openedAt === ref.openedAt;
      const owner = open ? await store.owner(ref.cluster) : null;
      const view = owner ? { ...shown.view, owner } : shown.view;
      const message = incidentMessage(view, { fixButton: deps.fixButton });
      if (shown.ts) {
        const ts = shown.ts;
        return renderedOf(
          await calls.call('chat.update', shown.channel, () =>
            client.chat.update({ channel: shown.channel, ts, ...message }),
          ),
        );
      }
      const key = `${ref.cluster}:${ref.openedAt}`;
      // Posted by this process, but where it landed was not stored (the queue Redis failed right then).
      let landed = posted.get(key);
      if (!landed) {
        const answer = await calls.call('chat.postMessage', shown.channel, () =>
          client.chat.postMessage({ channel: shown.channel, ...message }),
        );
        if (!answer.ok) return renderedOf(answer);
        if (!answer.value.ts) return { result: 'done' };
        // Slack accepts a #name here, but chat.update and threads need the ID it answers with.
        landed = { channel: answer.value.channel ?? shown.channel, ts: answer.value.ts };
        posted.set(key, landed);
      }
      const { channel, ts } = landed;
      // As of when: the state the post showed, so that thread replies about older changes are not posted after it.
      await store.landed(ref.cluster, ref.openedAt, channel, ts, shown.view.now);
      posted.delete(key);
      // Repair requests link back to it; without a permalink they name it by thread only.
      const link = await calls.call('chat.getPermalink', channel, () =>
        client.chat.getPermalink({ channel, message_ts: ts }),
      );
      if (link.ok && link.value.permalink)
        await store.permalink(ref.cluster, ref.openedAt, link.value.permalink);
      return { result: 'done' };
    },
    async where(ref) {
      if (ref.kind !== 'incident') return { state: 'none' };
      const shown = await store.message(ref.cluster, ref.openedAt);
      if (shown?.ts)
        return { state: 'landed', channel: shown.channel, ts: shown.ts, landedAt: shown.landedAt };
      return shown && (await deps.outbox.scheduled(ref)) ? { state: 'pending' } : { state: 'none' };
    },
  };
}

type IncidentItem = Extract<
  PostItem,
  {
    kind:
      | 'incident-change'
      | 'slot-map'
      | 'incident-recovered'
      | 'timeline'
      | 'timeline-file'
      | 'healthy-alert';
  }
>;

/** The incident's posts: thread replies, slot maps, the recovery note and the timeline, the healthy-alert note. */
export async function postIncidentItem(
  deps: IncidentRenderDeps,
  channel: string,
  item: IncidentItem,
  createdAt: number,
  parent: Where | null,
): Promise<Rendered> {
  const { calls, client } = deps;
  const thread = parent?.state === 'landed' ? parent : null;
  const say = async (where: string, threadTs: string | null, message: { text: string } & object) =>
    renderedOf(
      await calls.call('chat.postMessage', where, () =>
        client.chat.postMessage(
          threadTs ? { channel: where, thread_ts: threadTs, ...message } : { channel: where, ...message },
        ),
      ),
    );
  switch (item.kind) {
    case 'healthy-alert':
      return say(channel, null, healthyAlertMessage(item.view));
    case 'incident-change':
      // The top message landed after this change: it already shows what came of it.
      if (!thread || thread.landedAt >= item.view.now) return { result: 'done' };
      return say(thread.channel, thread.ts, { text: changeText(item.change, item.view) });
    case 'incident-recovered':
      if (thread) return say(thread.channel, thread.ts, { text: recoveredText(item.view) });
      return say(channel, null, { text: recoveredText(item.view, { unthreaded: true }) });
    case 'slot-map': {
      if (!thread) return { result: 'done' };
      const shown = await deps.store.message(item.cluster, item.openedAt);
      const report = shown?.view.report;
      const mapped = mappedOf(report ?? null);
      if (!report || mapped === shown?.mappedPosted) return { result: 'done' };
      const outcome = await calls.call('files.uploadV2', thread.channel, () =>
        client.files.uploadV2({
          ...slotMapFile(report, item.cluster),
          channel_id: thread.channel,
          thread_ts: thread.ts,
        }),
      );
      if (outcome.ok) await deps.store.mapPosted(item.cluster, item.openedAt, mapped);
      return renderedOf(outcome);
    }
    case 'timeline':
      return postTimeline(deps, channel, item, createdAt, thread);
    case 'timeline-file': {
      const timeline = await deps.timelines?.last(item.cluster);
      if (!thread || !timeline || timeline.incident.openedAt !== new Date(item.openedAt).toISOString())
        return { result: 'done' };
      return renderedOf(
        await calls.call('files.uploadV2', thread.channel, () =>
          client.files.uploadV2({
            channel_id: thread.channel,
            thread_ts: thread.ts,
            file: Buffer.from(`${JSON.stringify(timeline, null, 2)}\n`),
            filename: timelineFile(timeline),
            title: `Timeline of the ${timeline.cluster} incident (JSON)`,
          }),
        ),
      );
    }
  }
}

/** How long the timeline waits for a repair of the cluster to write its end. */
const TIMELINE_WAIT_MS = 30_000;

async function postTimeline(
  deps: IncidentRenderDeps,
  channel: string,
  item: Extract<PostItem, { kind: 'timeline' }>,
  createdAt: number,
  thread: Extract<Where, { state: 'landed' }> | null,
): Promise<Rendered> {
  const { timelines, calls, client } = deps;
  if (!timelines) return { result: 'done' };
  const now = deps.now ?? Date.now;
  // The cluster often looks healthy before its repair has taken its after-probe: the postmortem wants that end.
  if (now() - createdAt < TIMELINE_WAIT_MS && (await timelines.repairRunning(item.cluster)))
    return { result: 'wait', waitMs: 500 };
  const timeline = await timelines.build({
    cluster: item.cluster,
    openedAt: item.openedAt,
    channel: thread?.channel ?? channel,
    ts: thread?.ts ?? null,
    trigger: item.trigger,
    recoveredAt: item.recoveredAt,
  });
  await timelines.keep(timeline);
  // Without a thread to post it in, the timeline is still kept for `/redis timeline`.
  if (!thread) return { result: 'done' };
  const filename = timelineFile(timeline);
  const posted = await calls.call('chat.postMessage', thread.channel, () =>
    client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.ts,
      ...timelineMessage(timeline, filename),
    }),
  );
  if (!posted.ok) return renderedOf(posted);
  // The JSON file is a post of its own: it takes its own turn in the channel, after this one.
  await deps.outbox.post(channel, incidentRef(item.cluster, item.openedAt), {
    kind: 'timeline-file',
    cluster: item.cluster,
    openedAt: item.openedAt,
  });
  return { result: 'done' };
}

export const isIncidentItem = (item: PostItem): item is IncidentItem =>
  [
    'incident-change',
    'slot-map',
    'incident-recovered',
    'timeline',
    'timeline-file',
    'healthy-alert',
  ].includes(item.kind);
