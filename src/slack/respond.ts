import type { RespondFn } from '@slack/bolt';

/** A reply only the person who typed or clicked sees; it never replaces the message they acted on. */
export const ephemeral = (respond: RespondFn, text: string) =>
  respond({ response_type: 'ephemeral', replace_original: false, text });
