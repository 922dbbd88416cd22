import type { RespondFn } from '@slack/bolt';
import { parseDuration } from '../duration.js';
import type { IncidentService } from '../jobs/incidents.js';
import { esc } from './blocks/limits.js';
import { slackDate } from './blocks/slack-date.js';
import { ephemeral } from './respond.js';

export const DEFAULT_SILENCE_MS = 3_600_000;
const MAX_SILENCE_MS = 7 * 86_400_000;

/**
 * `/redis silence [cluster] [duration|off]`: mutes (or unmutes) automated incident posts. Returns false when
 * the words were not understood (the caller counts it as a usage error).
 */
export async function silenceCommand(
  incidents: IncidentService | null,
  cluster: string,
  words: string,
  respond: RespondFn,
  now: () => number = Date.now,
): Promise<boolean> {
  if (!incidents) {
    await ephemeral(
      respond,
      'Automated posts need the queue Redis (QUEUE_REDIS_URL), which is not configured.',
    );
    return true;
  }
  if (words.toLowerCase() === 'off') {
    await incidents.unsilence(cluster);
    await respond({
      response_type: 'in_channel',
      text: `:loud_sound: Automated posts for \`${esc(cluster)}\` are on again.`,
    });
    return true;
  }
  const ms = words === '' ? DEFAULT_SILENCE_MS : parseDuration(words);
  if (ms === null || ms <= 0 || ms > MAX_SILENCE_MS) {
    await ephemeral(
      respond,
      `\`${esc(words)}\` is neither a cluster nor a duration up to 7d: \`/redis silence ${esc(cluster)} 2h\`.`,
    );
    return false;
  }
  await incidents.silence(cluster, ms);
  await respond({
    response_type: 'in_channel',
    text: `:mute: Automated posts for \`${esc(cluster)}\` are muted until ${slackDate(now() + ms)} (maintenance). \`/redis status ${esc(cluster)}\` still answers; \`/redis silence ${esc(cluster)} off\` unmutes.`,
  });
  return true;
}
