import type { App } from '@slack/bolt';
import type { Logger } from 'pino';

/** The identity of a delivery that handlers do not check themselves (button handlers check their clicks). */
function deliveryKey(body: { command?: unknown; trigger_id?: unknown; event_id?: unknown }): string | null {
  if (typeof body.command === 'string' && typeof body.trigger_id === 'string')
    return `delivery:command:${body.trigger_id}`;
  if (typeof body.event_id === 'string') return `delivery:event:${body.event_id}`;
  return null;
}

/** How long the check may hold a payload before its ack: a hung queue Redis must not make Slack time out. */
const CHECK_MS = 1000;

/** `seen(key)`, or false (act on it) when it has not answered within CHECK_MS. */
async function seenInTime(seen: (key: string) => Promise<boolean>, key: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_MS);
  });
  try {
    return await Promise.race([seen(key), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Socket Mode: Slack sends an envelope again when its ack did not arrive (the socket dropped in between). A
 * slash command or event already taken (by this replica or another) is acked again and not run twice.
 * `seen(key)` records the key and says whether it was there already.
 */
export function ignoreRedeliveries(app: App, seen: (key: string) => Promise<boolean>, log: Logger): void {
  app.use(async (args) => {
    const key = deliveryKey(args.body as Record<string, unknown>);
    if (key && (await seenInTime(seen, key))) {
      log.info({ key, retry: args.context.retryNum }, 'redelivery already handled');
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    await args.next();
  });
}
