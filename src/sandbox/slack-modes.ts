import type { FaultRule } from './slack-faults.js';

/** The sandbox's Slack buttons: how Slack behaves in each mode, as the fault rules it sets. */
export const SLACK_MODES: Readonly<Record<string, readonly FaultRule[]>> = {
  healthy: [],
  slow: [{ method: '*', fault: { kind: 'hang', ms: 20_000 } }],
  'rate-limited': [{ method: '*', fault: { kind: 'rate-limited', retryAfterSec: 30 } }],
  'not in channel': ['chat.postMessage', 'chat.update', 'files.completeUploadExternal'].map((method) => ({
    method,
    fault: { kind: 'error', error: 'not_in_channel' },
  })),
};
