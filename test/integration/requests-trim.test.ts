import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestStore } from '../../src/jobs/requests.js';
import { testBackend } from '../support/backend.js';
import { startNode } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { requestFixture } from '../support/request-fixtures.js';

let backend: RedisBackend;
let queue: { port: number; process: RedisProcess };
let redis: Redis;

beforeAll(async () => {
  backend = await testBackend();
  queue = await startNode(backend, {});
  redis = new Redis({ host: '127.0.0.1', port: queue.port });
});
afterAll(async () => {
  redis?.disconnect();
  await queue?.process.kill();
  await backend?.stopAll();
});

describe('the requests index', () => {
  it('keeps only requests younger than keepMs, however many were made', async () => {
    const prefix = `trim${Date.now()}`;
    const store = new RequestStore(redis, prefix, { keepMs: 10_000 });
    const start = Date.now();
    // One request a second for 60 s: an index that never forgets would hold all 60.
    for (let i = 0; i < 60; i++) {
      const { version: _version, ...request } = requestFixture({
        id: `rq-${i}`,
        createdAt: start + i * 1000,
        expiresAt: start + i * 1000 + 5000,
      });
      await store.create(request);
    }
    const kept = await redis.zrange(`${prefix}:requests`, '0', '-1');
    // Created at 59 s: everything created within the 10 s before it stays, older ones are gone.
    expect(kept).toEqual(Array.from({ length: 10 }, (_, k) => `rq-${50 + k}`));
  });
});
