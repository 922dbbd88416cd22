import { randomUUID } from 'node:crypto';
import type { ConsoleState } from './console-state.js';

/** What the Web API methods read of the console. */
export interface WebApiContext {
  readonly state: ConsoleState;
  /** The channel a call without one goes to. */
  readonly channel: string;
  readonly channelNames?: Readonly<Record<string, string>>;
  readonly userGroups?: Readonly<Record<string, readonly string[]>>;
  /** Where upload URLs point: http://127.0.0.1:PORT */
  readonly baseUrl: string;
}

/** The channel a call is about: `channel` or `channel_id`, a known `#name` as its ID. */
export function channelOf(body: Record<string, unknown>, context: WebApiContext): string | undefined {
  const named = body.channel ?? body.channel_id;
  if (typeof named !== 'string') return undefined;
  return context.channelNames?.[named] ?? named;
}

/** The Web API methods the bot calls, answered like Slack does. */
export function answerWebApi(
  method: string,
  body: Record<string, unknown>,
  context: WebApiContext,
): Record<string, unknown> {
  const { state } = context;
  switch (method) {
    case 'auth.test':
      return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1', user: 'slotwatch' };
    case 'chat.postMessage': {
      const named = String(body.channel ?? context.channel);
      const channel = named.startsWith('#') ? context.channelNames?.[named] : named;
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const message = state.add({
        channel,
        threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : null,
        text: String(body.text ?? ''),
        blocks: (body.blocks as unknown[]) ?? [],
        user: 'slotwatch',
        ephemeralTo: null,
      });
      return { ok: true, channel: message.channel, ts: message.ts };
    }
    case 'chat.update': {
      if (String(body.channel).startsWith('#')) return { ok: false, error: 'channel_not_found' };
      const updated = state.update(String(body.channel), String(body.ts), {
        ...(typeof body.text === 'string' ? { text: body.text } : {}),
        ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
      });
      return updated ? { ok: true, ts: body.ts } : { ok: false, error: 'message_not_found' };
    }
    case 'chat.getPermalink': {
      const channel = String(body.channel ?? '');
      const ts = String(body.message_ts ?? '');
      if (!state.messages.some((m) => m.channel === channel && m.ts === ts))
        return { ok: false, error: 'message_not_found' };
      return {
        ok: true,
        channel,
        permalink: `https://acme.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
      };
    }
    case 'views.publish': {
      if (typeof body.user_id !== 'string') return { ok: false, error: 'invalid_arguments' };
      const view = typeof body.view === 'string' ? JSON.parse(body.view) : body.view;
      state.homes.set(body.user_id, view);
      return { ok: true, view: { id: 'V1', ...(view as object) } };
    }
    case 'usergroups.users.list': {
      const members = context.userGroups?.[String(body.usergroup)];
      return members ? { ok: true, users: [...members] } : { ok: false, error: 'no_such_subteam' };
    }
    case 'files.getUploadURLExternal': {
      const id = `F${randomUUID().slice(0, 8).toUpperCase()}`;
      return { ok: true, file_id: id, upload_url: `${context.baseUrl}/upload/${id}` };
    }
    case 'files.completeUploadExternal': {
      if (String(body.channel_id ?? '').startsWith('#')) return { ok: false, error: 'invalid_channel' };
      const files = (typeof body.files === 'string' ? JSON.parse(body.files) : body.files) as {
        id: string;
        title?: string;
      }[];
      state.add({
        channel: String(body.channel_id ?? context.channel),
        threadTs: typeof body.thread_ts === 'string' ? body.thread_ts : null,
        text: files.map((f) => f.title ?? f.id).join(', '),
        blocks: [],
        user: 'slotwatch',
        ephemeralTo: null,
        files: files.map((f) => f.id),
      });
      return { ok: true, files: files.map((f) => ({ id: f.id })) };
    }
    default:
      return { ok: false, error: 'unknown_method' };
  }
}
