import type { AlertContext, Signal } from '../alerts/payloads.js';
import type { Report } from '../core/report.js';
import { formatRanges } from '../core/slot-ranges.js';

/** One thing whose state moved between two looks, e.g. `gap 0-5460` from `owner-unreachable` to `owner-failed`. */
export interface IncidentTransition {
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly direction: 'worse' | 'better' | 'changed';
}

/** What changed in an open incident, and the signal that made the bot look. */
export interface IncidentChange {
  readonly trigger: Signal;
  readonly added: readonly string[];
  readonly gone: readonly string[];
  readonly changed: readonly IncidentTransition[];
}

/** The first slot and last slot of a signature entry like `gap 0-5460 owner-failed`, or null for other entries. */
const gapRange = (entry: string): { start: number; end: number; reason: string } | null => {
  const m = /^gap (\d+)(?:-(\d+))? (\S+)$/.exec(entry);
  if (!m) return null;
  const start = Number(m[1]);
  return { start, end: m[2] === undefined ? start : Number(m[2]), reason: m[3] ?? '' };
};

const nodeName = (n: { address: string | null; id: string }) => n.address ?? n.id.slice(0, 8);

/** What makes two reports "the same incident state": cluster_state, gaps, dead or unreachable nodes, stuck slots. */
export function signatureOf(report: Report | null, problem: string): string[] {
  if (!report) return [`unreachable: ${problem}`];
  const states = report.nodes.filter((n) => n.reachable).map((n) => n.clusterState);
  const clusterState = states.includes('fail') ? 'fail' : states.includes('ok') ? 'ok' : null;
  return [
    ...(clusterState ? [`cluster_state ${clusterState}`] : []),
    ...report.slots.gaps.map((g) => `gap ${formatRanges([[g.start, g.end]])} ${g.reason}`),
    ...report.nodes.filter((n) => n.flags.includes('fail')).map((n) => `node ${nodeName(n)} FAIL`),
    ...report.nodes
      .filter((n) => !n.reachable && !n.flags.includes('fail'))
      .map((n) => `node ${nodeName(n)} unreachable`),
    ...report.openSlots.filter((o) => !o.live).map((o) => `slot ${o.slot} ${o.state}`),
  ].sort();
}

/** How bad each state word is, so a move from one to another reads as worse or better. */
const BADNESS: Readonly<Record<string, number>> = {
  ok: 0,
  migrating: 1,
  importing: 1,
  unreachable: 1,
  'owner-unreachable': 1,
  'owner-failed': 2,
  unassigned: 2,
  FAIL: 2,
  fail: 2,
};

const split = (entry: string) => {
  const at = entry.lastIndexOf(' ');
  return { subject: entry.slice(0, at), state: entry.slice(at + 1) };
};

/** The difference between two signatures: the same subject in another state is a transition, not new + cleared. */
export function diffSignatures(
  before: readonly string[],
  after: readonly string[],
): Pick<IncidentChange, 'added' | 'gone' | 'changed'> {
  const added = after.filter((s) => !before.includes(s));
  const gone = before.filter((s) => !after.includes(s));
  const changed: IncidentTransition[] = [];
  const paired = new Set<string>();
  for (const entry of added) {
    const now = split(entry);
    const old = gone.find((g) => !paired.has(g) && split(g).subject === now.subject);
    if (!old) continue;
    paired.add(old).add(entry);
    const from = split(old).state;
    const delta = (BADNESS[now.state] ?? 1) - (BADNESS[from] ?? 1);
    changed.push({
      subject: now.subject,
      from,
      to: now.state,
      direction: delta > 0 ? 'worse' : delta < 0 ? 'better' : 'changed',
    });
  }
  // A gap that grew, shrank or moved is the same gap: one transition, never "new" plus "cleared".
  for (const entry of added.filter((a) => !paired.has(a))) {
    const now = gapRange(entry);
    if (!now) continue;
    const old = gone.find((g) => {
      const was = gapRange(g);
      return !paired.has(g) && was !== null && was.start <= now.end && now.start <= was.end;
    });
    const was = old ? gapRange(old) : null;
    if (!old || !was) continue;
    paired.add(old).add(entry);
    const size = now.end - now.start - (was.end - was.start);
    const delta = size !== 0 ? size : (BADNESS[now.reason] ?? 1) - (BADNESS[was.reason] ?? 1);
    changed.push({
      subject: 'gap',
      from: old.slice('gap '.length),
      to: entry.slice('gap '.length),
      direction: delta > 0 ? 'worse' : delta < 0 ? 'better' : 'changed',
    });
  }
  return {
    added: added.filter((s) => !paired.has(s)),
    gone: gone.filter((s) => !paired.has(s)),
    changed,
  };
}

/** The gaps and stuck slots a slot map shows: when these change, the map is drawn again. */
export function mappedOf(report: Report | null): string {
  if (!report) return '';
  return JSON.stringify([
    report.slots.gaps.map((g) => `${g.start}-${g.end} ${g.reason}`),
    report.openSlots.filter((o) => !o.live).map((o) => `${o.slot} ${o.state}`),
  ]);
}

/** The parts of a report the top message shows: when these change, the message is edited. */
export function shownOf(
  report: Report | null,
  problem: string,
  alerts: readonly AlertContext[] = [],
): string {
  // Which alerts, not in which order: a storm of the same alerts arriving in turn is no change to show.
  const seen = [...new Set(alerts.map((a) => `${a.name} ${a.status}`))].sort();
  if (!report) return JSON.stringify([`unreachable ${problem}`, seen]);
  return JSON.stringify([
    seen,
    signatureOf(report, problem),
    report.slots.covered,
    report.findings.map((f) => `${f.severity} ${f.code} ${[...f.nodes].sort().join(',')}`).sort(),
  ]);
}

/** Minutes at which the header's age is worth an edit of its own; after the last, every half hour. */
const AGE_STEPS = [1, 5, 10, 15, 30, 45, 60];

/** Which age step an incident open for `ms` is in: the top message is edited when it moves on. */
export function ageStep(ms: number): number {
  const minutes = ms / 60_000;
  const last = AGE_STEPS[AGE_STEPS.length - 1] ?? 60;
  if (minutes >= last) return AGE_STEPS.length + Math.floor((minutes - last) / 30);
  return AGE_STEPS.filter((step) => minutes >= step).length;
}
