import type { FaultRule } from './slack-faults.js';

/** The sandbox's Slack buttons: how Slack behaves in each mode, as the fault rules it sets. */
export const SLACK_MODES: Readonly<Record<string, readonly FaultRule[]>> = {
  healthy: [],
  // Every answer takes 6 s: slow, but within the bot's 10 s timeout (a call Slack takes but never answers in time
  // may land twice, as with real Slack).
  slow: [{ method: '*', fault: { kind: 'hang', ms: 6000 } }],
  'rate-limited': [{ method: '*', fault: { kind: 'rate-limited', retryAfterSec: 30 } }],
  'not in channel': ['chat.postMessage', 'chat.update', 'files.completeUploadExternal'].map((method) => ({
    method,
    fault: { kind: 'error', error: 'not_in_channel' },
  })),
};
