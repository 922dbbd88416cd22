import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiagnoseCluster } from '../../src/cluster-probe.js';
import type { Report } from '../../src/core/report.js';
import { ok } from '../../src/core/result.js';
import { type IncidentPoster, IncidentService } from '../../src/jobs/incidents.js';
import { testBackend } from '../support/backend.js';
import { startNode } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';

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

const base: Report = {
  state: 'ok',
  probedAt: '2026-11-25T00:00:00.000Z',
  durationMs: 5,
  seeds: ['10.0.0.1:6379'],
  slots: { covered: 16384, uncovered: 0, gaps: [] },
  openSlots: [],
  movingSlots: [],
  slotClaims: [],
  nodes: [],
  findings: [],
  config: [],
  keyCounts: [],
  countedSlots: [],
  currentEpoch: 3,
};
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
    open: async (cluster) => {
      calls.push(`open ${cluster}`);
      return '111.1';
    },
    reply: async (_channel, _ts, { added, gone }) => {
      calls.push(
        `reply ${[...added.map((s) => `• new: ${s}`), ...gone.map((s) => `• cleared: ${s}`)].join(' ')}`,
      );
    },
    recovered: async (cluster, _c, _ts, _r, minutes) => {
      calls.push(`recovered ${cluster} ${minutes}`);
    },
  };
  return { calls, diagnose, poster };
}

const tick = { cluster: 'prod', source: 'monitor', status: 'tick', summary: 'tick' } as const;

function service(states: Report[]) {
  const { calls, diagnose, poster } = scripted(states);
  const incidents = new IncidentService({
    redis,
    prefix: `inc${Math.random().toString(36).slice(2)}`,
    clusters: [{ name: 'prod', seeds: ['10.0.0.1:6379'], channel: 'C0PROD' }],
    alertChannel: null,
    diagnose,
    poster,
    log: pino({ level: 'silent' }),
  });
  return { calls, incidents };
}

describe('IncidentService', () => {
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
      'reply • new: gap 0-199 owner-failed • cleared: gap 0-99 owner-failed',
      'reply • new: gap 0-199 owner-failed',
      'recovered prod 1',
    ]);
    expect(await incidents.current('prod')).toBeNull();
  });

  it('stays quiet while silenced', async () => {
    const { calls, incidents } = service([down(5, 9)]);
    await incidents.silence('prod', 60_000);
    await incidents.handle(tick);
    expect(calls).toEqual([]);
    expect(await incidents.silencedUntil('prod')).toBeGreaterThan(Date.now());
  });
});
