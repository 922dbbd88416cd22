import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../src/alerts/payloads.js';
import type { DiagnoseCluster } from '../../src/cluster-probe.js';
import type { Report } from '../../src/core/report.js';
import { ok } from '../../src/core/result.js';
import { AlertPipeline } from '../../src/jobs/alert-pipeline.js';
import { IncidentService } from '../../src/jobs/incidents.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { useQueueRedis } from '../support/queue-redis.js';
import { emptyReport } from '../support/report-fixtures.js';
import { waitFor } from '../support/wait.js';

const queue = useQueueRedis();

const down: Report = emptyReport({
  state: 'fail',
  slots: {
    covered: 16284,
    uncovered: 100,
    gaps: [{ start: 0, end: 99, reason: 'owner-failed', owner: 'a'.repeat(40), keys: null }],
  },
});

describe('an alert that arrives while its cluster is being looked at', () => {
  it('joins the next look when the running one holds the cluster past the wait, instead of being dropped', async () => {
    const prefix = `busy${Date.now()}`;
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    // The first look (the monitor's first tick) hangs until released, as a look behind a hung node would.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let looks = 0;
    const diagnose: DiagnoseCluster = async () => {
      if (++looks === 1) await held;
      return ok(down);
    };
    const incidents = new IncidentService({
      redis: queue.redis,
      prefix,
      clusters: [{ name: 'prod', seeds: ['10.0.0.1:6379'], channel: 'C1' }],
      alertChannel: null,
      diagnose,
      outbox: new Outbox(queue.redis, prefix),
      log,
    });
    const pipeline = new AlertPipeline(
      queue.redis,
      prefix,
      [{ name: 'prod', seeds: ['10.0.0.1:6379'], channel: 'C1' }],
      incidents,
      log,
      {
        lookWaitMs: 300,
      },
    );
    try {
      // The next tick is a minute away: only the pipeline's own hand-over can make another look soon.
      await pipeline.start(60_000);
      await waitFor('the first look to hang', () => looks === 1);
      const alert: Signal = {
        cluster: 'prod',
        source: 'alertmanager',
        status: 'firing',
        summary: 'RedisClusterDown',
        alerts: [
          { name: 'RedisClusterDown', status: 'firing', severity: 'critical', summary: null, links: [] },
        ],
      };
      await incidents.noteAlerts([alert]);
      await pipeline.enqueue([alert]);
      await waitFor('the alert to wait out its turn', () =>
        lines.some((l) => l.includes('the alert joins the next look')),
      );

      release();

      const incident = await waitFor(
        'a look that took the alert',
        async () => {
          const current = await incidents.current('prod');
          return current?.alerts?.some((a) => a.name === 'RedisClusterDown') && current;
        },
        { timeoutMs: 20_000 },
      );
      expect(incident.alertsReceived).toBe(1);
      expect(lines.filter((l) => l.includes('held by another look') && l.includes('"level":50'))).toEqual([]);
    } finally {
      release();
      await pipeline.close(2000);
    }
  });
});
