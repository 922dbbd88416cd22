import type { RequestListener } from 'node:http';
import { App, HTTPReceiver } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { boltLogger } from './bolt-logger.js';

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
  const clientOptions = config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {};
  let connected = false;
  if (config.slack.mode === 'socket') {
    const app = new App({
      token: config.slack.botToken,
      appToken: config.slack.appToken ?? '',
      socketMode: true,
      logger,
      clientOptions,
      deferInitialization: true,
    });
    await app.init();
    return {
      app,
      start: async () => {
        await app.start();
        connected = true;
      },
      stop: async () => {
        connected = false;
        await app.stop();
      },
      connected: () => connected,
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
  connected = true;
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
