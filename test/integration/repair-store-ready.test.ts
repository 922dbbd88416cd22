import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/jobs/audit.js';
import { Outbox } from '../../src/jobs/outbox.js';
import { queueUp } from '../../src/jobs/queue-redis.js';
import { RepairService } from '../../src/jobs/repair-service.js';
import { testBackend } from '../support/backend.js';
import { startNode } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { waitFor } from '../support/wait.js';

let backend: RedisBackend;
let queue: { port: number; process: RedisProcess };

beforeAll(async () => {
  backend = await testBackend();
  queue = await startNode(backend, {});
});
afterAll(async () => {
  await queue?.process.kill();
  await backend?.stopAll();
});

describe('the connection approvals are recorded on', () => {
  it('counts as down while it reconnects, even when the main connection answers again', async () => {
    // No automatic reconnection: each connection comes back only when told, so the two can be apart.
    const main = new Redis({ host: '127.0.0.1', port: queue.port, retryStrategy: () => null });
    main.on('error', () => {});
    const admin = new Redis({ host: '127.0.0.1', port: queue.port });
    const log = pino({ level: 'silent' });
    const service = new RepairService({
      redis: main,
      prefix: `ready${Date.now()}`,
      clusters: [],
      approvalsRequired: 2,
      approvalTtlMs: 60_000,
      audit: new AuditLog(main, 'audit', 60_000, log),
      log,
      outbox: new Outbox(main, 'ready'),
      waitReplicas: 1,
    });
    try {
      await waitFor('the store connection to be ready', () => service.storeReady());
      // A failover drops every connection; the main one is back first (its retry came sooner).
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
      await waitFor('the main connection to drop', () => main.status === 'end');
      await main.connect();

      expect(await queueUp(main)).toBe(true);
      expect(service.storeReady()).toBe(false);
    } finally {
      await service.close(500);
      main.disconnect();
      admin.disconnect();
    }
  });
});
