import type { KnownBlock } from '@slack/types';

/** Slack's Block Kit limits (with a margin on the undocumented total). */
export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  header: 150,
  buttonText: 75,
  /** Messages over roughly 13k characters of blocks fail with msg_blocks_too_long. */
  totalChars: 12_000,
} as const;

/** Escapes the three characters mrkdwn treats specially. */
export const esc = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack user id as a mention; anything else (`slotwatch`, a value that is no user id) as escaped text. */
export const mention = (user: string): string => (/^[UW][A-Z0-9]{2,}$/.test(user) ? `<@${user}>` : esc(user));

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export const size = (blocks: readonly KnownBlock[]): number => JSON.stringify(blocks).length;

export const mrkdwn = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});

export const context = (text: string): KnownBlock => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) }],
});

export const header = (text: string): KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, LIMITS.header), emoji: true },
});

/**
 * A monospaced table inside one section, ending in "… and N more" when rows or characters run out. Rows are
 * escaped: they carry node addresses and error texts that come from the nodes.
 */
export function codeTable(rows: readonly string[], more: (hidden: number) => string, maxRows = 15): string {
  const budget = LIMITS.sectionText - 200;
  const shown: string[] = [];
  for (const row of rows.slice(0, maxRows).map(esc)) {
    if (shown.join('\n').length + row.length + 1 > budget) break;
    shown.push(row);
  }
  const hidden = rows.length - shown.length;
  return `\`\`\`${shown.join('\n')}\`\`\`${hidden > 0 ? `\n${more(hidden)}` : ''}`;
}

/**
 * Appends optional blocks (or groups that stay together, like an option and its button) in order while the
 * message stays within the block count and size limits; says how many were left out and where to see them.
 */
export function fitBlocks(
  essential: readonly KnownBlock[],
  optional: readonly (KnownBlock | readonly KnownBlock[])[],
  tail: readonly KnownBlock[],
  more: (hidden: number) => string,
): KnownBlock[] {
  const blocks = [...essential];
  let added = 0;
  for (const item of optional) {
    const next = [...blocks, ...(Array.isArray(item) ? item : [item as KnownBlock])];
    if (next.length + tail.length + 1 > LIMITS.blocks || size(next) + size(tail) + 400 > LIMITS.totalChars)
      break;
    blocks.splice(0, blocks.length, ...next);
    added++;
  }
  const hidden = optional.length - added;
  return [...blocks, ...(hidden > 0 ? [context(more(hidden))] : []), ...tail];
}
