import type { KnownBlock } from '@slack/types';
import type { Timeline, TimelineEvent } from '../../jobs/timeline.js';
import { context, esc, fitBlocks, mention, mrkdwn, truncate } from './limits.js';
import { plural } from './plural.js';
import { duration } from './progress-blocks.js';
import type { SlackMessage } from './report-blocks.js';
import { slackDate } from './slack-date.js';

const ms = (at: string) => Date.parse(at);

const WORDS: Record<TimelineEvent['type'], string> = {
  detected: ':mag: *detected*',
  posted: ':mega: *posted*',
  acknowledged: ':raising_hand: *acknowledged*',
  requested: ':wrench: *repair requested*',
  approved: ':ballot_box_with_check: *approved*',
  rejected: ':no_entry: *rejected*',
  queued: ':inbox_tray: *queued*',
  started: ':gear: *repair started*',
  resumed: ':arrows_counterclockwise: *resumed by another worker*',
  'step-started': ':arrow_forward: *step started*',
  'step-finished': ':white_check_mark: *step done*',
  'step-skipped': ':fast_forward: *step skipped*',
  'step-failed': ':x: *step failed*',
  'cancel-asked': ':octagonal_sign: *cancel asked*',
  cancelled: ':octagonal_sign: *cancelled*',
  expired: ':alarm_clock: *request expired*',
  finished: ':white_check_mark: *repair done*',
  failed: ':x: *repair failed*',
  stale: ':warning: *refused as stale*',
  recovered: ':green_heart: *recovered*',
};

/** The detail without what the line says already ("step 3: …", "step 3 done"). */
const detailOf = (e: TimelineEvent): string =>
  e.step === null ? e.detail : e.detail.replace(/^step \d+(:| done$| skipped:| failed:)\s*/, '');

function line(
  e: TimelineEvent,
  start: number,
  steps: ReadonlyMap<string, number>,
  began: number | null,
): string {
  const who = e.user ? ` by ${mention(e.user)}` : '';
  const total = e.request ? steps.get(e.request) : undefined;
  const step = e.step !== null ? ` ${e.step}${total ? ` of ${total}` : ''}` : '';
  const word = WORDS[e.type].replace(/step (started|done|skipped|failed)\*/, `step${step} $1*`);
  const took = e.type === 'step-finished' && began !== null ? ` in ${duration(ms(e.at) - began)}` : '';
  const text = detailOf(e);
  const detail = text ? `: ${esc(truncate(text, 200))}` : '';
  return `${slackDate(ms(e.at), '{time_secs}')} (+${duration(ms(e.at) - start)}) ${word}${took}${who}${detail}`;
}

/** One sentence on what data the incident cost, from the repairs that ran and what they measured. */
export function dataLossText(t: Timeline): string {
  const ran = t.repairs.filter((r) => r.steps.finished > 0 || r.status === 'done');
  if (ran.length === 0)
    return '*Data:* Slotwatch ran no repair in this incident, so it cannot say what was lost (check DBSIZE against your last backup).';
  const measured = ran
    .filter((r) => r.dbsize)
    .map(
      (r) =>
        `DBSIZE of the masters ${r.dbsize?.before?.toLocaleString('en-US') ?? '?'} before, ${r.dbsize?.after?.toLocaleString('en-US') ?? '?'} after \`${esc(r.id)}\``,
    );
  const counted = measured.length > 0 ? ` (${measured.join('; ')})` : '';
  const { keys, slots } = t.dataLoss;
  if (t.dataLoss.repairs.length === 0) return `*Data lost:* none; every repair that ran was safe${counted}.`;
  const what = keys === null ? 'an unknown number of keys' : plural(keys, 'key');
  const holders = [...new Set(t.repairs.flatMap((r) => (r.loss ? r.loss.holders : [])))];
  const held = holders.length > 0 ? ` that only ${esc(holders.join(', '))} held` : '';
  return `*Data lost:* ${what} in slots ${esc(truncate(slots, 200))}${held}, given up by an approved data-loss repair${counted}.`;
}

/** The incident's timeline as a thread message; the JSON file carries every entry. */
export function timelineMessage(t: Timeline, file: string | null): SlackMessage {
  const start = ms(t.incident.openedAt);
  const end = t.incident.recoveredAt ? ms(t.incident.recoveredAt) : null;
  const steps = new Map(t.repairs.map((r) => [r.id, r.steps.total]));
  const title = `:spiral_note_pad: *Timeline of the \`${esc(t.cluster)}\` incident* (\`${t.incident.id}\`)${end ? `: ${duration(end - start)} from detection to recovery` : ', so far'}`;
  const began = (e: TimelineEvent) =>
    t.events.filter((s) => s.type === 'step-started' && s.request === e.request && s.step === e.step).at(-1)
      ?.at;
  const lines = t.events.map((e) => {
    const at = e.type === 'step-finished' ? began(e) : undefined;
    return line(e, start, steps, at ? ms(at) : null);
  });
  const chunks: string[] = [];
  for (const l of lines) {
    const last = chunks.at(-1);
    if (last !== undefined && last.length + l.length < 2800) chunks[chunks.length - 1] = `${last}\n${l}`;
    else chunks.push(l);
  }
  const blocks: KnownBlock[] = fitBlocks(
    [mrkdwn(title)],
    chunks.map((c) => mrkdwn(c)),
    [
      mrkdwn(dataLossText(t)),
      context(
        file
          ? `Every entry as JSON: \`${file}\` (shape in docs/timeline.md). Times are in your time zone.`
          : 'Times are in your time zone. `/redis timeline` shows this again.',
      ),
    ],
    (hidden) => `… and ${plural(hidden, 'more part')}: the JSON file has every entry.`,
  );
  return {
    text: `Timeline of the ${esc(t.cluster)} incident ${t.incident.id}: ${plural(t.events.length, 'event')}`,
    blocks,
  };
}
