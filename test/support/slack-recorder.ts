import { SlackConsole } from '../../src/sandbox/console-server.js';
import { waitFor } from './wait.js';

export type { CallsFilter, RecordedRequest } from '../../src/sandbox/console-server.js';

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
