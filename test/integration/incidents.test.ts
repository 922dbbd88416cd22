import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../src/alerts/payloads.js';
import type { DiagnoseCluster } from '../../src/cluster-probe.js';
import type { Report } from '../../src/core/report.js';
import { ok } from '../../src/core/result.js';
import { type AcknowledgeResult, IncidentService } from '../../src/jobs/incidents.js';
import { Outbox } from '../../src/jobs/outbox.js';
import type { PostItem } from '../../src/jobs/outbox-items.js';
import { useQueueRedis } from '../support/queue-redis.js';
import { emptyReport, masterReport } from '../support/report-fixtures.js';

const queue = useQueueRedis();

const base: Report = emptyReport();
const down = (start: number, end: number): Report => ({
  ...base,
  state: 'fail',
  slots: {
    covered: 16384 - (end - start + 1),
    uncovered: end - start + 1,
    gaps: [{ start, end, reason: 'owner-failed', owner: 'a'.repeat(40), keys: null }],
  },
});

/**
 * Plays a scripted sequence of cluster states and reads back, after each look, what the look queued for Slack
 * (as the render path would show it: a view posted once then edited, posts in order).
 */
function service(states: Report[], now: () => number = Date.now) {
  const calls: string[] = [];
  let i = 0;
  const diagnose: DiagnoseCluster = async () => ok(states[Math.min(i++, states.length - 1)] as Report);
  const audited: string[] = [];
  const prefix = `inc${Math.random().toString(36).slice(2)}`;
  const outbox = new Outbox(queue.redis, prefix, { now, minEditGapMs: 0 });
  const incidents = new IncidentService({
    redis: queue.redis,
    prefix,
    clusters: [{ name: 'prod', seeds: ['10.0.0.1:6379'], channel: '#prod-incidents' }],
    alertChannel: null,
    diagnose,
    outbox,
    log: pino({ level: 'silent' }),
    now,
    audit: async ({ user, detail }) => {
      audited.push(`${user} ${detail}`);
    },
  });
  const drain = async () => {
    const entries = await outbox.due(1000);
    for (const entry of entries) {
      if (entry.type !== 'view' || entry.ref.kind !== 'incident') continue;
      const shown = await incidents.store.message(entry.ref.cluster, entry.ref.openedAt);
      if (!shown) continue;
      if (shown.ts) calls.push(`update ${shown.channel} ${shown.view.report?.slots.uncovered ?? '?'} down`);
      else {
        calls.push(`open ${shown.view.cluster}`);
        await incidents.store.landed(
          entry.ref.cluster,
          entry.ref.openedAt,
          `${shown.channel}-id`,
          '111.1',
          now(),
        );
      }
      await outbox.rendered(entry);
    }
    for (const entry of entries) {
      if (entry.type !== 'post') continue;
      const item = entry.post.item as PostItem;
      const parent = entry.post.parent?.kind === 'incident' ? entry.post.parent : null;
      const shown = parent ? await incidents.store.message(parent.cluster, parent.openedAt) : null;
      if (item.kind === 'incident-change') {
        const { added, gone, changed } = item.change;
        calls.push(
          `reply ${[
            ...changed.map((c) => `• ${c.direction}: ${c.subject} ${c.from} → ${c.to}`),
            ...added.map((s) => `• new: ${s}`),
            ...gone.map((s) => `• cleared: ${s}`),
          ].join(' ')}`,
        );
      } else if (item.kind === 'slot-map')
        calls.push(
          `map ${shown?.view.report?.slots.gaps.map((g) => `${g.start}-${g.end} ${g.reason}`).join(',')}`,
        );
      else if (item.kind === 'incident-recovered')
        calls.push(`recovered ${item.view.cluster} ${shown?.channel} ${item.view.recoveredAfterMinutes}`);
      else if (item.kind === 'healthy-alert')
        calls.push(`healthy ${item.view.cluster} ${item.view.alerts.map((a) => a.name).join(',')}`);
      await outbox.posted(entry);
    }
  };
  const handle = async (signal: Signal) => {
    await incidents.handle(signal);
    await drain();
  };
  const acknowledge = async (cluster: string, user: string): Promise<AcknowledgeResult> => {
    const result = await incidents.acknowledge(cluster, user);
    await drain();
    return result;
  };
  return { calls, incidents, audited, outbox, handle, acknowledge };
}

const tick: Signal = { cluster: 'prod', source: 'monitor', status: 'tick', summary: 'tick' };

const owner = 'a'.repeat(40);
const node = (clusterState: 'ok' | 'fail', reachable = true) =>
  masterReport({
    id: 'b'.repeat(40),
    address: '10.0.0.2:6379',
    reachable,
    slots: [[5461, 16383]],
    clusterState,
    knownNodes: 2,
  });
const gap = (reason: 'owner-failed' | 'owner-unreachable', clusterState: 'ok' | 'fail'): Report => ({
  ...base,
  state: 'fail',
  nodes: [node(clusterState)],
  slots: { covered: 10923, uncovered: 5461, gaps: [{ start: 0, end: 5460, reason, owner, keys: null }] },
});

describe('IncidentService', () => {
  it('keeps the incident, what its top message shows and its first slot map in one write: nothing waits on Slack', async () => {
    const { incidents, outbox } = service([down(0, 99)]);

    await incidents.handle(tick);

    const incident = await incidents.current('prod');
    expect(incident).toMatchObject({ ts: null, channel: '#prod-incidents' });
    const shown = await incidents.store.message('prod', incident?.openedAt ?? 0);
    expect(shown?.view.report?.slots.uncovered).toBe(100);
    const due = await outbox.due();
    expect(due.map((e) => (e.type === 'view' ? e.ref.kind : (e.post.item as PostItem).kind)).sort()).toEqual([
      'incident',
      'slot-map',
    ]);
  });

  it('counts the alerts folded into its looks and shows the count on the top message', async () => {
    const { incidents, handle: look } = service([down(0, 99)]);
    const firing = {
      ...tick,
      source: 'alertmanager',
      status: 'firing',
      alerts: [{ name: 'RedisClusterDown', status: 'firing', severity: null, summary: null, links: [] }],
    } as const;
    await incidents.noteAlerts([firing, firing, firing]);
    await look(firing);
    await incidents.noteAlerts([firing, firing]);
    await look(firing);

    const incident = await incidents.current('prod');
    expect(incident?.alertsReceived).toBe(5);
    expect((await incidents.store.message('prod', incident?.openedAt ?? 0))?.view.alertsReceived).toBe(5);
  });

  it('answers an alert that fires again after the resolved copy a running look carries (noted list is newer)', async () => {
    const { calls, incidents, handle } = service([base]);
    const alert = (status: 'firing' | 'resolved') =>
      ({ name: 'RedisClusterStateNotOk', status, severity: 'critical', summary: null, links: [] }) as const;
    const resolved = {
      ...tick,
      source: 'alertmanager',
      status: 'resolved',
      alerts: [alert('resolved')],
    } as const;
    const firing = { ...tick, source: 'alertmanager', status: 'firing', alerts: [alert('firing')] } as const;
    // Both arrive at the webhook and are noted; the job that runs carries the first one only.
    await incidents.noteAlerts([resolved, firing]);

    await handle(resolved);

    expect(calls).toEqual(['healthy prod RedisClusterStateNotOk']);
  });

  it('opens once, threads only changes, and closes after two healthy looks in a row (no flapping)', async () => {
    const { calls, incidents, handle } = service([
      base,
      down(0, 99),
      down(0, 99),
      down(0, 199),
      base,
      down(0, 199),
      base,
      base,
      base,
    ]);
    for (let i = 0; i < 9; i++) await handle(tick);
    expect(calls).toEqual([
      'open prod',
      'map 0-99 owner-failed',
      'update #prod-incidents-id 200 down',
      'reply • worse: gap 0-99 owner-failed → 0-199 owner-failed',
      'map 0-199 owner-failed',
      'reply • new: gap 0-199 owner-failed',
      // The top message shows the recovery too (edited), and the thread says so.
      'update #prod-incidents-id 0 down',
      'recovered prod #prod-incidents-id 1',
    ]);
    expect(await incidents.current('prod')).toBeNull();
  });

  it('reads owner-unreachable → owner-failed and cluster_state ok → fail as worse, and edits the top message', async () => {
    const { calls, handle } = service([gap('owner-unreachable', 'ok'), gap('owner-failed', 'fail')]);

    await handle(tick);
    await handle(tick);

    expect(calls).toEqual([
      'open prod',
      'map 0-5460 owner-unreachable',
      'update #prod-incidents-id 5461 down',
      'reply • worse: cluster_state ok → fail • worse: gap 0-5460 owner-unreachable → owner-failed',
      'map 0-5460 owner-failed',
    ]);
  });

  it('records who acknowledged, audits it and shows it on the top message', async () => {
    const { calls, incidents, audited, handle, acknowledge } = service([down(0, 99)]);
    expect(await acknowledge('prod', 'U0ALICE01')).toEqual({ result: 'none' });
    await handle(tick);

    const first = await acknowledge('prod', 'U0ALICE01');
    const second = await acknowledge('prod', 'U0BOB0001');

    expect(first).toEqual({ result: 'acknowledged', previous: null });
    expect(second).toMatchObject({ previous: { user: 'U0ALICE01' } });
    expect((await incidents.owner('prod'))?.user).toBe('U0BOB0001');
    expect(audited).toEqual(["U0ALICE01 I'm on it", 'U0BOB0001 took the incident over from U0ALICE01']);
    expect(calls).toEqual([
      'open prod',
      'map 0-99 owner-failed',
      'update #prod-incidents-id 100 down',
      'update #prod-incidents-id 100 down',
    ]);
    // What those edits show: the owner is in the stored view the top message is rendered from.
    const openedAt = (await incidents.current('prod'))?.openedAt ?? 0;
    expect((await incidents.store.message('prod', openedAt))?.view.owner?.user).toBe('U0BOB0001');
  });

  it('stays quiet while silenced, and speaks again once unsilenced', async () => {
    const { calls, incidents, handle } = service([down(5, 9)]);
    await incidents.silence('prod', 60_000);
    await handle(tick);
    expect(calls).toEqual([]);
    expect(await incidents.silencedUntil('prod')).toBeGreaterThan(Date.now());
    await incidents.unsilence('prod');
    await handle(tick);
    expect(calls).toEqual(['open prod', 'map 5-9 owner-failed']);
  });

  it('edits the top message as the incident ages (1, 5, 10, 15, 30, 45, 60 min, then half-hourly), not every tick', async () => {
    let clock = Date.UTC(2026, 10, 26, 3, 0);
    const { calls, handle } = service([down(0, 99)], () => clock);
    await handle(tick);
    const minutes: number[] = [];
    for (let minute = 1; minute <= 120; minute++) {
      clock += 60_000;
      const before = calls.length;
      await handle(tick);
      if (calls.length > before) minutes.push(minute);
    }

    expect(minutes).toEqual([1, 5, 10, 15, 30, 45, 60, 90, 120]);
    expect(calls.filter((c) => !c.startsWith('update'))).toEqual(['open prod', 'map 0-99 owner-failed']);
  });
});
