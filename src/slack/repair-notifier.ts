import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { RepairNotifier } from '../jobs/repair-service.js';
import { requestMessage } from './blocks/repair-blocks.js';

/** Keeps the approval message current and writes progress into its thread. */
export function slackNotifier(client: WebClient, log: Logger): RepairNotifier {
  return {
    async requestChanged(request) {
      if (!request.ts) return;
      await client.chat
        .update({ channel: request.channel, ts: request.ts, ...requestMessage(request) })
        .catch((error: unknown) =>
          log.warn({ err: error, request: request.id }, 'approval message update failed'),
        );
    },
    async progress(request, text) {
      if (!request.ts) return;
      await client.chat
        .postMessage({ channel: request.channel, thread_ts: request.ts, text })
        .catch((error: unknown) => log.warn({ err: error, request: request.id }, 'progress post failed'));
    },
  };
}
