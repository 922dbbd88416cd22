import { webApi } from '@slack/bolt';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiagnoseCluster } from '../../src/cluster-probe.js';
import type { Report } from '../../src/core/report.js';
import { ok } from '../../src/core/result.js';
import { type IncidentPoster, IncidentService } from '../../src/jobs/incidents.js';
import { slackIncidentPoster } from '../../src/slack/incident-poster.js';
import { testBackend } from '../support/backend.js';
import { startNode } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { emptyReport, masterReport } from '../support/report-fixtures.js';
import { SlackRecorder } from '../support/slack-recorder.js';

let backend: RedisBackend;
let queue: { port: number; process: RedisProcess };
let redis: Redis;

beforeAll(async () => {
  backend = await testBackend();
  queue = await startNode(backend, {});
  redis = new Redis({ port: queue.port, host: '127.0.0.1' });
});
afterAll(async () => {
  redis?.disconnect();
  await queue?.process.kill();
  await backend?.stopAll();
});

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

/** Plays a scripted sequence of cluster states and records what would be posted. */
function scripted(states: Report[]) {
  const calls: string[] = [];
  let i = 0;
  const diagnose: DiagnoseCluster = async () => ok(states[Math.min(i++, states.length - 1)] as Report);
  const poster: IncidentPoster = {
    open: async (channel, view) => {
      calls.push(`open ${view.cluster}`);
      return { ts: '111.1', channel: `${channel}-id` };
    },
    update: async (channel, _ts, view) => {
      calls.push(`update ${channel} ${view.report?.slots.uncovered ?? '?'} down`);
    },
    reply: async (_channel, _ts, { added, gone, changed }) => {
      calls.push(
        `reply ${[
          ...changed.map((c) => `• ${c.direction}: ${c.subject} ${c.from} → ${c.to}`),
          ...added.map((s) => `• new: ${s}`),
          ...gone.map((s) => `• cleared: ${s}`),
        ].join(' ')}`,
      );
    },
    recovered: async (channel, _ts, view) => {
      calls.push(`recovered ${view.cluster} ${channel} ${view.recoveredAfterMinutes}`);
    },
    slotMap: async (_channel, _ts, view) => {
      calls.push(`map ${view.report?.slots.gaps.map((g) => `${g.start}-${g.end} ${g.reason}`).join(',')}`);
    },
    healthyAlert: async (_channel, view) => {
      calls.push(`healthy ${view.cluster} ${view.alerts.map((a) => a.name).join(',')}`);
    },
  };
  return { calls, diagnose, poster };
}

const tick = { cluster: 'prod', source: 'monitor', status: 'tick', summary: 'tick' } as const;

function service(states: Report[], now?: () => number) {
  const { calls, diagnose, poster: scriptedPoster } = scripted(states);
  const poster: { -readonly [K in keyof IncidentPoster]: IncidentPoster[K] } = { ...scriptedPoster };
  const audited: string[] = [];
  const incidents = new IncidentService({
    redis,
    prefix: `inc${Math.random().toString(36).slice(2)}`,
    clusters: [{ name: 'prod', seeds: ['10.0.0.1:6379'], channel: '#prod-incidents' }],
    alertChannel: null,
    diagnose,
    poster,
    log: pino({ level: 'silent' }),
    ...(now ? { now } : {}),
    audit: async ({ user, detail }) => {
      audited.push(`${user} ${detail}`);
    },
  });
  return { calls, incidents, audited, poster };
}

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
  it('posts again an incident whose bot died between posting it and storing where it landed', async () => {
    const { calls, incidents, poster } = service([down(0, 99), down(0, 99), down(0, 99)]);
    const post = poster.open;
    // The first bot's post reaches Slack, then the bot dies before it stores the ts.
    poster.open = async (channel, view) => {
      await post(channel, view);
      throw new Error('killed');
    };
    await expect(incidents.handle(tick)).rejects.toThrow('killed');
    const left = await incidents.current('prod');
    poster.open = post;

    await incidents.handle(tick);
    await incidents.handle(tick);

    expect(left).toMatchObject({ ts: null, posting: true });
    expect(calls).toEqual(['open prod', 'open prod', 'map 0-99 owner-failed']);
    expect(await incidents.current('prod')).toMatchObject({ ts: '111.1', posting: false });
  });

  it('closes, with a note of its own in the channel, an incident whose bot died after posting it, once healthy', async () => {
    const { calls, incidents, poster } = service([down(0, 99), base, base]);
    const post = poster.open;
    poster.open = async (channel, view) => {
      await post(channel, view);
      throw new Error('killed');
    };
    const closedWith: (string | null)[] = [];
    const recovered = poster.recovered;
    poster.recovered = async (channel, ts, view) => {
      closedWith.push(ts);
      await recovered(channel, ts, view);
    };
    await expect(incidents.handle(tick)).rejects.toThrow('killed');
    poster.open = post;

    await incidents.handle(tick);
    expect(await incidents.current('prod')).toMatchObject({ ts: null, healthyTicks: 1 });
    await incidents.handle(tick);

    // Its top message may be in Slack: it is closed like any other, never dropped without a word.
    expect(calls).toEqual(['open prod', 'recovered prod #prod-incidents 1']);
    expect(closedWith).toEqual([null]);
    expect(await incidents.current('prod')).toBeNull();
  });

  it('closes through Slack without a thread when the top message was never recorded (real Web API client)', async () => {
    const recorder = new SlackRecorder();
    await recorder.start();
    try {
      const client = new webApi.WebClient('xoxb-test', { slackApiUrl: recorder.apiUrl });
      const poster = slackIncidentPoster(client, redis, 'incnull', false, pino({ level: 'silent' }));
      const openedAt = Date.parse('2026-11-27T03:04:00Z');
      await poster.recovered('C1', null, {
        cluster: 'prod <!channel>',
        report: base,
        problem: '',
        trigger: tick,
        openedAt,
        now: openedAt + 120_000,
        owner: null,
        alerts: [
          { name: 'RedisClusterDown <b>', status: 'firing', severity: null, summary: null, links: [] },
          { name: 'RedisClusterDown <b>', status: 'resolved', severity: null, summary: null, links: [] },
        ],
        recoveredAfterMinutes: 2,
      });
      const posts = recorder.requests.filter((r) => r.path === '/api/chat.postMessage');
      expect(posts).toHaveLength(1);
      const body = posts[0]?.body as { channel: string; thread_ts?: string; text: string };
      expect(body.channel).toBe('C1');
      expect(body.thread_ts).toBeUndefined();
      expect(body.text).toContain('recovered after 2 min');
      expect(body.text).toContain('closes the prod &lt;!channel&gt; incident opened at 03:04 UTC');
      expect(body.text).toContain('Alerts seen for it: RedisClusterDown &lt;b&gt;.');
      expect(body.text).not.toContain('<!channel>');
      expect(recorder.requests.some((r) => r.path === '/api/chat.update')).toBe(false);
    } finally {
      await recorder.stop();
    }
  });

  it('answers an alert that fires again after the resolved copy a running look carries (noted list is newer)', async () => {
    const { calls, incidents } = service([base]);
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

    await incidents.handle(resolved);

    expect(calls).toEqual(['healthy prod RedisClusterStateNotOk']);
  });

  it('opens once, threads only changes, and closes after two healthy looks in a row (no flapping)', async () => {
    const { calls, incidents } = service([
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
    for (let i = 0; i < 9; i++) await incidents.handle(tick);
    expect(calls).toEqual([
      'open prod',
      'map 0-99 owner-failed',
      'update #prod-incidents-id 200 down',
      'reply • worse: gap 0-99 owner-failed → 0-199 owner-failed',
      'map 0-199 owner-failed',
      'reply • new: gap 0-199 owner-failed',
      'recovered prod #prod-incidents-id 1',
    ]);
    expect(await incidents.current('prod')).toBeNull();
  });

  it('reads owner-unreachable → owner-failed and cluster_state ok → fail as worse, and edits the top message', async () => {
    const { calls, incidents } = service([gap('owner-unreachable', 'ok'), gap('owner-failed', 'fail')]);

    await incidents.handle(tick);
    await incidents.handle(tick);

    expect(calls).toEqual([
      'open prod',
      'map 0-5460 owner-unreachable',
      'update #prod-incidents-id 5461 down',
      'reply • worse: cluster_state ok → fail • worse: gap 0-5460 owner-unreachable → owner-failed',
      'map 0-5460 owner-failed',
    ]);
  });

  it('records who acknowledged, audits it and shows it on the top message', async () => {
    const { calls, incidents, audited } = service([down(0, 99)]);
    expect(await incidents.acknowledge('prod', 'U0ALICE01')).toEqual({ result: 'none' });
    await incidents.handle(tick);

    const first = await incidents.acknowledge('prod', 'U0ALICE01');
    const second = await incidents.acknowledge('prod', 'U0BOB0001');

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
  });

  it('stays quiet while silenced, and speaks again once unsilenced', async () => {
    const { calls, incidents } = service([down(5, 9)]);
    await incidents.silence('prod', 60_000);
    await incidents.handle(tick);
    expect(calls).toEqual([]);
    expect(await incidents.silencedUntil('prod')).toBeGreaterThan(Date.now());
    await incidents.unsilence('prod');
    await incidents.handle(tick);
    expect(calls).toEqual(['open prod', 'map 5-9 owner-failed']);
  });

  it('edits the top message as the incident ages (1, 5, 10, 15, 30, 45, 60 min, then half-hourly), not every tick', async () => {
    let clock = Date.UTC(2026, 10, 26, 3, 0);
    const { calls, incidents } = service([down(0, 99)], () => clock);
    await incidents.handle(tick);
    const minutes: number[] = [];
    for (let minute = 1; minute <= 120; minute++) {
      clock += 60_000;
      const before = calls.length;
      await incidents.handle(tick);
      if (calls.length > before) minutes.push(minute);
    }

    expect(minutes).toEqual([1, 5, 10, 15, 30, 45, 60, 90, 120]);
    expect(calls.filter((c) => !c.startsWith('update'))).toEqual(['open prod', 'map 0-99 owner-failed']);
  });
});
