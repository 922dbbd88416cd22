import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boltLogger } from './bolt-logger.js';
import { webApiOptions } from './slack-views.js';
import { SocketConnection } from './socket-connection.js';

export interface SlackApp {
  readonly app: App;
  /** HTTP mode: handles POST /slack/events on the shared server. */
  readonly requestListener?: RequestListener;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether Slack answered auth.test (and, in Socket Mode, the socket is connected). */
  connected(): boolean;
}

/** Bolt in Socket Mode when an app token is set, else in HTTP mode behind our own server. */
export async function createSlackApp(config: Config, log: Logger): Promise<SlackApp> {
  const logger = boltLogger(log.child({ component: 'slack' }));
  // Commands and clicks call the Web API too (views.publish, usergroups.users.list): bounded in time, and a
  // 429 answered to the caller instead of pausing every call of the client.
  const clientOptions = webApiOptions(config.slack.apiUrl ?? null);
  if (config.slack.mode === 'socket') {
    const receiver = new SocketModeReceiver({
      appToken: config.slack.appToken ?? '',
      logger,
      // SocketConnection reconnects, with backoff; the client's own retries would hide a Slack outage.
      autoReconnectEnabled: false,
      installerOptions: { clientOptions },
    });
    const socket = new SocketConnection(receiver.client, log.child({ component: 'slack-socket' }));
    const app = new App({
      token: config.slack.botToken,
      receiver,
      logger,
      clientOptions,
      deferInitialization: true,
    });
    await app.init();
    return {
      app,
      start: () => socket.start(),
      stop: () => socket.stop(),
      connected: () => socket.connected,
    };
  }
  const receiver = new HTTPReceiver({
    signingSecret: config.slack.signingSecret ?? '',
    logger,
    processBeforeResponse: false,
    unhandledRequestTimeoutMillis: 3001,
  });
  const app = new App({
    token: config.slack.botToken,
    receiver,
    logger,
    clientOptions,
    deferInitialization: true,
  });
  await app.init();
  let connected = true;
  return {
    app,
    requestListener: receiver.requestListener,
    start: async () => {},
    stop: async () => {
      connected = false;
    },
    connected: () => connected,
  };
}
