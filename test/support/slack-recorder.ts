import { SlackConsole } from '../../src/sandbox/console-server.js';
import { waitFor } from './wait.js';

export type { CallsFilter, RecordedRequest } from '../../src/sandbox/console-server.js';

/** Slack's answer to chat.getPermalink for a message the console holds. */
function permalink(recorder: SlackConsole, channel: string, ts: string) {
  if (!recorder.state.messages.some((m) => m.channel === channel && m.ts === ts))
    return { ok: false, error: 'message_not_found' };
  return {
    ok: true,
    channel,
    permalink: `https://acme.slack.com/archives/${channel}/p${ts.replace('.', '')}`,
  };
}

/**
 * The local Slack console (the same one `npm run sandbox` shows) in the role tests need: it answers the bot's
 * Web API calls and response_url posts and records them.
 */
export class SlackRecorder extends SlackConsole {
  constructor(
    options: {
      userGroups?: Readonly<Record<string, readonly string[]>>;
      channelNames?: Readonly<Record<string, string>>;
      /** 'socket': also plays Slack's Socket Mode side (apps.connections.open, envelopes, acks). */
      mode?: 'http' | 'socket';
      /** false: answers every call, however fast (for tests about something else). @defaultValue true */
      limits?: boolean;
    } = {},
  ) {
    super({ signingSecret: 'unused', botUrl: () => '', channel: 'C1', users: [], ...options });
    // The console answers the Web API in a private method; tests also need chat.getPermalink, as Slack has it.
    const self = this as unknown as { api: (method: string, body: Record<string, unknown>) => unknown };
    const api = self.api.bind(this);
    self.api = (method, body) =>
      method === 'chat.getPermalink'
        ? permalink(this, String(body.channel ?? ''), String(body.message_ts ?? ''))
        : api(method, body);
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/respond/${id}`;
  }

  responses(id: string) {
    return this.requests.filter((r) => r.path === `/respond/${id}`);
  }

  async nextResponse(id: string, timeoutMs = 20_000) {
    return waitFor(`a response_url post for ${id}`, () => this.responses(id)[0], {
      timeoutMs,
      intervalMs: 20,
    });
  }
}
