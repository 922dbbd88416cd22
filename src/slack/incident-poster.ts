import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Signal } from '../alerts/payloads.js';
import type { Report } from '../core/report.js';
import { SLOT_COUNT } from '../core/slot-ranges.js';
import type { IncidentChange, IncidentTransition } from '../jobs/incident-changes.js';
import type { IncidentView } from '../jobs/incident-view.js';
import { slotMapPng } from '../render/slot-map.js';
import { headline } from './blocks/incident-blocks.js';
import { esc, truncate } from './blocks/limits.js';
import { plural } from './blocks/plural.js';

/** Attaches the slot-map picture through Slack's external upload flow; a failure only costs the picture. */
/** The slot-map picture as an upload: the PNG, its file name and title. */
export const slotMapFile = (report: Report, cluster: string) => ({
  file: slotMapPng(report, cluster),
  filename: `slot-map-${cluster}.png`,
  title: `Slot map of ${cluster}`,
});

export async function uploadSlotMap(
  client: WebClient,
  channel: string,
  threadTs: string | null,
  report: Report,
  cluster: string,
  log: Logger,
): Promise<void> {
  const file = slotMapFile(report, cluster);
  await client.files
    .uploadV2(
      threadTs ? { ...file, channel_id: channel, thread_ts: threadTs } : { ...file, channel_id: channel },
    )
    .catch((error: unknown) =>
      log.warn({ err: error instanceof Error ? error.message : String(error) }, 'slot map upload failed'),
    );
}

/** The signal that made the bot look, as mrkdwn: its summary is alert text from outside. */
export function triggerText(trigger: Signal): string {
  if (trigger.source === 'monitor') return 'seen by the monitor';
  const what = `${trigger.source} ${trigger.status}`;
  const summary = trigger.summary.trim();
  // A summary that only repeats the source and status says nothing more ("monitor tick: monitor tick").
  return summary === '' || summary === what ? what : `${what}: ${esc(truncate(summary, 300))}`;
}

const ARROWS = { worse: ':small_red_triangle_down: worse', better: ':arrow_up: better', changed: 'changed' };

/** What a move from one state to another means, in words, where the bare states could mislead. */
const MEANING: Readonly<Record<string, string>> = {
  'owner-unreachable>owner-failed': 'the same gap, its owner now confirmed failed',
  'owner-failed>owner-unreachable': 'the same gap, its owner no longer agreed failed',
  'unreachable>FAIL': 'the same node, now confirmed failed by the cluster',
  'ok>fail': 'nodes now answer CLUSTERDOWN',
  'fail>ok': 'nodes serve queries again',
};

const slotsIn = (entry: string) => {
  const m = /^(\d+)(?:-(\d+))? /.exec(entry);
  return m ? Number(m[2] ?? m[1]) - Number(m[1]) + 1 : 0;
};

function transitionLine(c: IncidentTransition): string {
  if (c.subject === 'gap') {
    const [before, after] = [slotsIn(c.from), slotsIn(c.to)];
    const how = after > before ? 'grew' : after < before ? 'shrank' : 'moved';
    return `• ${ARROWS[c.direction]}: the gap ${how} from ${esc(c.from)} to *${esc(c.to)}* (${plural(before, 'slot')} → ${plural(after, 'slot')})`;
  }
  const meaning = MEANING[`${c.from}>${c.to}`];
  return `• ${ARROWS[c.direction]}: ${esc(c.subject)} was ${esc(c.from)}, now *${esc(c.to)}*${meaning ? ` (${meaning})` : ''}`;
}

/** Worse when something got worse and nothing better; better the other way round; changed otherwise. */
export function overall(change: Omit<IncidentChange, 'trigger'>): 'worse' | 'better' | 'changed' {
  const worse = change.added.length > 0 || change.changed.some((c) => c.direction === 'worse');
  const better = change.gone.length > 0 || change.changed.some((c) => c.direction === 'better');
  return worse && !better ? 'worse' : better && !worse ? 'better' : 'changed';
}

const HEADS = {
  worse: ':small_red_triangle_down: *Worse*',
  better: ':arrow_up: *Better*',
  changed: ':arrows_counterclockwise: *Changed*',
};

/** A thread reply that never reads like progress when things got worse; ends with where things stand now. */
export function changeText(change: IncidentChange, view?: IncidentView): string {
  const lines = [
    ...change.changed.map(transitionLine),
    ...change.added.map((s) => `• new: ${esc(s)}`),
    ...change.gone.map((s) => `• cleared: ${esc(s)}`),
  ];
  const now = view ? `\n*Now:* ${esc(headline(view, view.report))}` : '';
  return `${HEADS[overall(change)]} (${triggerText(change.trigger)})\n${lines.join('\n')}${now}`;
}

/** The recovery note; `unthreaded` when the top message never landed (it then says which incident it closes). */
export function recoveredText(view: IncidentView, { unthreaded = false } = {}): string {
  const text = `:white_check_mark: ${esc(view.cluster)} recovered after ${view.recoveredAfterMinutes} min: ${view.report?.slots.covered ?? '?'}/${SLOT_COUNT} slots covered, cluster_state ok on every node.`;
  if (!unthreaded) return text;
  const opened = new Date(view.openedAt).toISOString().slice(11, 16);
  const alerts = [...new Set(view.alerts.map((a) => a.name))].slice(0, 10);
  const seen =
    alerts.length > 0
      ? `\nAlerts seen for it: ${alerts.map((name) => esc(name.slice(0, 100))).join(', ')}.`
      : '';
  return `${text}\nThis closes the ${esc(view.cluster)} incident opened at ${opened} UTC. Its first message never reached Slack (Slack refused it or did not answer), so it has no thread.${seen}`;
}
