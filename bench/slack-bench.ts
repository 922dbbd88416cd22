import type { FaultRule } from '../src/sandbox/slack-faults.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { recordGoal } from './goals.js';
import { alertStorm, postUnderLimit, type RepairRun, repairWhileSlack } from './slack-scenarios.js';
import { median } from './timing.js';

const RUNS = Number(process.env.BENCH_SLACK_RUNS ?? 3);

const VARIANTS: readonly { readonly name: string; readonly rules: readonly FaultRule[] }[] = [
  { name: 'Slack healthy', rules: [] },
  { name: 'Slack hangs, every method', rules: [{ method: '*', fault: { kind: 'hang' } }] },
  {
    name: 'Slack 429, Retry-After 45',
    rules: [{ method: '*', fault: { kind: 'rate-limited', retryAfterSec: 45 } }],
  },
];

const ms = (value: number) => `${value.toFixed(0)} ms`;
const label = (text: string) => text.padEnd(34);
const counts = (byMethod: Record<string, number>) =>
  Object.entries(byMethod)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([method, n]) => `${method} ${n}`)
    .join(', ') || 'none';
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/** One variant's runs: medians, each run's time, the Web API calls of all runs, any run not done and ok. */
function repairRow(name: string, runs: readonly RepairRun[]): string {
  const odd = runs.filter((r) => r.status !== 'done' || !r.allOk);
  const calls = runs.map((r) => r.calls);
  return (
    `${label(`repair, ${name}`)} ack ${ms(median(runs.map((r) => r.ackMs)))} | click → done ${ms(median(runs.map((r) => r.doneMs)))}` +
    ` (${runs.map((r) => r.doneMs.toFixed(0)).join(', ')}) | Web API calls meanwhile ${sum(calls.map((c) => c.sent))}:` +
    ` ${sum(calls.map((c) => c.hung))} hung, ${sum(calls.map((c) => c.refused))} answered 429` +
    (odd.length > 0 ? ` | NOT DONE with every node ok: ${odd.map((r) => r.status).join(', ')}` : '')
  );
}

/**
 * Slack on a bad day, with a spawned bot on real clusters: the deciding approval of a take-over while Slack is
 * healthy, hangs or answers 429 (in turns, medians); a 60 s alert storm; an incident post under a 30 s limit.
 */
export async function benchSlack(backend: RedisBackend): Promise<void> {
  const runs = VARIANTS.map((): RepairRun[] => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [v, variant] of VARIANTS.entries())
      runs[v]?.push(await repairWhileSlack(backend, variant.rules));
  }
  console.log(
    `\nSlack on a bad day (spawned bot, real clusters, the local Slack with its limits; repairs: take-over of 5461 slots, N=${RUNS} runs each, in turns, medians)`,
  );
  for (const [v, variant] of VARIANTS.entries()) console.log(repairRow(variant.name, runs[v] ?? []));
  const [healthy, hanging] = runs.map((r) => median(r.map((run) => run.doneMs))) as [number, number];
  const diff = hanging - healthy;
  recordGoal({
    goal: 'repair with Slack hanging finishes within healthy + 5 s (deciding click to request done)',
    measured: `${ms(hanging)} (${diff >= 0 ? '+' : ''}${diff.toFixed(0)} ms), median of ${RUNS}`,
    baseline: `Slack healthy ${ms(healthy)}`,
    met: hanging <= healthy + 5000,
  });

  const storm = await alertStorm(backend);
  const { minute, busiest } = storm;
  const files = sum(Object.entries(minute).flatMap(([m, n]) => (m.startsWith('files.') ? [n] : [])));
  console.log(
    `${label('storm: 60 s x 50 alerts/s, down')} in the storm's minute chat.update ${minute['chat.update'] ?? 0}, chat.postMessage ${minute['chat.postMessage'] ?? 0}, files.* ${files}` +
      ` | busiest 60 s from the kill ${busiest.update} / ${busiest.post} / ${busiest.files} (Slack: 50/min, ~60/min per channel)` +
      ` | answered 429 by the local Slack: ${counts(storm.refused)}`,
  );
  console.log(
    `${label('storm: top message, webhooks')} top message current at the end: ${storm.currentAfterMs === null ? 'NO (not within 30 s)' : `yes, ${ms(storm.currentAfterMs)} after the last alert`}; ${storm.topPosts} top post(s)` +
      ` | ${storm.alerts} webhooks p50 ${storm.p50.toFixed(1)} ms, p99 ${storm.p99.toFixed(1)} ms, ${storm.not202} not 202`,
  );
  recordGoal({
    goal: 'storm: chat.update ≤ 50 in the minute (60 s of 50 alerts/s on a down cluster)',
    measured: `${busiest.update} in the busiest 60 s (${minute['chat.update'] ?? 0} in the storm's minute)`,
    baseline: "Slack's chat.update limit 50/min",
    met: busiest.update <= 50,
  });
  recordGoal({
    goal: 'storm: chat.postMessage ≤ 60 in the minute (60 s of 50 alerts/s on a down cluster)',
    measured: `${busiest.post} in the busiest 60 s (${minute['chat.postMessage'] ?? 0} in the storm's minute)`,
    baseline: "Slack's chat.postMessage ~1/s per channel",
    met: busiest.post <= 60,
  });

  const limited = await postUnderLimit(backend);
  const landed =
    limited.afterLiftMs === null ? 'NOT posted within 20 s' : `posted ${ms(limited.afterLiftMs)}`;
  console.log(
    `${label('incident post, 30 s of 429')} ${landed} after chat.postMessage's 30 s limit lifted; ${limited.topPosts} top post(s)` +
      ` | calls during the 30 s: ${counts(limited.during)} (${limited.refusedDuring} answered 429)`,
  );
  recordGoal({
    goal: 'incident post within 10 s of a 30 s chat.postMessage rate limit lifting',
    measured:
      limited.afterLiftMs === null
        ? 'not within 20 s'
        : `${ms(limited.afterLiftMs)}, ${limited.topPosts} top post(s)`,
    baseline: `calls during the 30 s: ${counts(limited.during)}`,
    met: limited.afterLiftMs !== null && limited.afterLiftMs <= 10_000,
  });
}
