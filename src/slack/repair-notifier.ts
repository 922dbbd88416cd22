import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { RepairNotifier } from '../jobs/repair-service.js';
import { requestMessage } from './blocks/repair-blocks.js';

/** Keeps the approval message current: it is also the repair's one progress message, edited in place. */
export function slackNotifier(client: WebClient, log: Logger): RepairNotifier {
  return {
    async requestChanged(request, progress) {
      if (!request.ts) return;
      await client.chat
        .update({ channel: request.channel, ts: request.ts, ...requestMessage(request, progress) })
        .catch((error: unknown) =>
          log.warn({ err: error, request: request.id }, 'approval message update failed'),
        );
    },
  };
}
