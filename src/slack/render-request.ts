import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Outbox } from '../jobs/outbox.js';
import type { PostItem } from '../jobs/outbox-items.js';
import { progressOf, type RepairProgress } from '../jobs/repair-progress.js';
import type { RepairRequest, RequestStore } from '../jobs/requests.js';
import { esc, mention } from './blocks/limits.js';
import { plural } from './blocks/plural.js';
import { requestMessage } from './blocks/repair-blocks.js';
import { type Rendered, renderedOf, type ViewKind, type Where } from './renderer.js';
import type { SlackCalls } from './slack-calls.js';

export interface RequestRenderDeps {
  readonly client: WebClient;
  readonly calls: SlackCalls;
  readonly store: RequestStore;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly now?: () => number;
}

/** How long a request link in the incident thread waits for the request's own message to land. */
const LINK_WAIT_MS = 30_000;

/**
 * The request's one message (approval buttons, then the repair's progress): posted once, then edited to the
 * request's latest version. Also shows a note on the last version it showed while the queue Redis is away.
 */
export class RequestView implements ViewKind {
  /** What this process showed last, for a note while the queue Redis cannot be read. */
  private readonly lastShown = new Map<string, { request: RepairRequest; progress: RepairProgress }>();
  /** Messages this process posted whose ts is not stored yet. */
  private readonly posted = new Map<string, { channel: string; ts: string }>();

  constructor(private readonly deps: RequestRenderDeps) {}

  /** Edits of one request's message from this process go one at a time: a late note never covers a newer edit. */
  private readonly chains = new Map<string, Promise<unknown>>();

  private serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(id) ?? Promise.resolve()).then(work, work);
    const settled = next.catch(() => {});
    this.chains.set(id, settled);
    void settled.then(() => {
      if (this.chains.get(id) === settled) this.chains.delete(id);
    });
    return next;
  }

  /** Resolves when every edit this process started has ended (shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.chains.values()]);
  }

  render(ref: Parameters<ViewKind['render']>[0]): Promise<Rendered> {
    if (ref.kind !== 'request') return Promise.resolve({ result: 'done' });
    return this.serial(ref.id, () => this.renderNow(ref.id));
  }

  private async renderNow(id: string): Promise<Rendered> {
    const ref = { kind: 'request', id } as const;
    const { store, calls, client } = this.deps;
    const request = await store.get(ref.id);
    if (!request) return { result: 'done' };
    const progress = progressOf(request, await store.events(ref.id));
    const message = requestMessage(request, progress);
    if (request.ts) {
      const ts = request.ts;
      const outcome = await calls.call('chat.update', request.channel, () =>
        client.chat.update({ channel: request.channel, ts, ...message }),
      );
      if (outcome.ok) this.remember(request, progress);
      return renderedOf(outcome);
    }
    // Posted by this process, but where it landed was not stored yet (the queue Redis failed right then).
    const known = this.posted.get(request.id);
    if (known) return this.landed(request, progress, known.channel, known.ts);
    const posted = await calls.call('chat.postMessage', request.channel, () =>
      client.chat.postMessage({ channel: request.channel, ...message }),
    );
    if (!posted.ok) return renderedOf(posted);
    const channel = posted.value.channel ?? request.channel;
    const ts = posted.value.ts;
    if (!ts) return { result: 'done' };
    this.posted.set(request.id, { channel, ts });
    return this.landed(request, progress, channel, ts);
  }

  /** Stores where the message landed (and its permalink); a failure here is retried without posting again. */
  private async landed(
    request: RepairRequest,
    progress: RepairProgress,
    channel: string,
    ts: string,
  ): Promise<Rendered> {
    const { calls, client, store } = this.deps;
    this.remember({ ...request, ts }, progress);
    const link = await calls.call('chat.getPermalink', channel, () =>
      client.chat.getPermalink({ channel, message_ts: ts }),
    );
    const permalink = link.ok ? (link.value.permalink ?? null) : null;
    const annotated = await store.annotate(request.id, { ts, permalink }, (this.deps.now ?? Date.now)());
    this.posted.delete(request.id);
    if (annotated) this.remember(annotated, progress);
    // A vote or step recorded while this was posted marked the view again: the outbox renders it once more.
    return { result: 'done' };
  }

  private remember(request: RepairRequest, progress: RepairProgress): void {
    this.lastShown.set(request.id, { request, progress });
    if (this.lastShown.size > 200) this.lastShown.delete(this.lastShown.keys().next().value ?? '');
  }

  async where(ref: Parameters<ViewKind['where']>[0]): Promise<Where> {
    if (ref.kind !== 'request') return { state: 'none' };
    const request = await this.deps.store.get(ref.id);
    if (request?.ts) return { state: 'landed', channel: request.channel, ts: request.ts, landedAt: 0 };
    return request && (await this.deps.outbox.scheduled(ref)) ? { state: 'pending' } : { state: 'none' };
  }

  /**
   * A note on the last version this process showed, while the queue Redis cannot be read (a paused repair says
   * so); the next change replaces it. One try, never awaited by the repair.
   */
  banner(id: string, text: string): Promise<void> {
    return this.serial(id, () => this.bannerNow(id, text));
  }

  private async bannerNow(id: string, text: string): Promise<void> {
    const shown = this.lastShown.get(id);
    if (!shown?.request.ts) return;
    const { request, progress } = shown;
    const ts = shown.request.ts;
    const outcome = await this.deps.calls.call('chat.update', request.channel, () =>
      this.deps.client.chat.update({
        channel: request.channel,
        ts,
        ...requestMessage(request, { ...progress, banner: text }),
      }),
    );
    if (!outcome.ok) this.deps.log.warn({ request: id, err: outcome.error }, 'banner not shown');
  }
}

type RequestItem = Extract<PostItem, { kind: 'request-link' | 'no-approvers' }>;

export const isRequestItem = (item: PostItem): item is RequestItem =>
  item.kind === 'request-link' || item.kind === 'no-approvers';

/** Posts about a request: its link in the incident thread, the "nobody can approve" note in its own thread. */
export async function postRequestItem(
  deps: RequestRenderDeps,
  item: RequestItem,
  createdAt: number,
  parent: Where | null,
): Promise<Rendered> {
  if (parent?.state !== 'landed') return { result: 'done' };
  const { calls, client } = deps;
  const say = async (text: string) =>
    renderedOf(
      await calls.call('chat.postMessage', parent.channel, () =>
        client.chat.postMessage({ channel: parent.channel, thread_ts: parent.ts, text }),
      ),
    );
  if (item.kind === 'no-approvers')
    return say(
      ':no_entry: SLACK_APPROVERS is empty, so nobody can approve this request (fail closed). Configure approvers to use repairs from Slack.',
    );
  const request = await deps.store.get(item.request);
  const now = (deps.now ?? Date.now)();
  if (request && !request.permalink && now - createdAt < LINK_WAIT_MS) return { result: 'wait', waitMs: 500 };
  const title = esc(item.title);
  const link = request?.permalink ? `<${request.permalink}|${title}>` : `*${title}*`;
  return say(
    `:wrench: ${mention(item.user)} requested a repair: ${link} (\`${esc(item.request)}\`, ${plural(item.required, 'approval')} needed${item.dataLoss ? ', loses data' : ''}).`,
  );
}
