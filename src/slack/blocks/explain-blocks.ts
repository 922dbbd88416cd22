import type { KnowledgeEntry } from '../../core/knowledge-base.js';
import { context, esc, header, mrkdwn } from './limits.js';
import type { SlackMessage } from './report-blocks.js';

/** A knowledge-base entry as a message: cause, what to check, how to fix. */
export function explainMessage(entry: KnowledgeEntry): SlackMessage {
  const list = (items: readonly string[]) => items.map((i) => `• ${esc(i)}`).join('\n');
  return {
    text: `${esc(entry.title)}: ${esc(entry.cause)}`,
    blocks: [
      header(`:books: ${esc(entry.title)}`),
      mrkdwn(`*Cause*\n${esc(entry.cause)}`),
      mrkdwn(`*Check*\n${list(entry.check)}`),
      mrkdwn(`*Fix*\n${list(entry.fix)}`),
      ...(entry.slotwatch ? [context(esc(entry.slotwatch))] : []),
    ],
  };
}
