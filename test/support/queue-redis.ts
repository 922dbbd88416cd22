import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { testBackend } from './backend.js';
import { startNode } from './cluster.js';
import type { RedisBackend, RedisProcess } from './redis-backend.js';

export interface SuiteQueueRedis {
  /** A client of it (connected once the file's tests run). */
  readonly redis: Redis;
  readonly port: number;
}

/** A queue Redis of the test file's own (a redis-server on a free port), up for its tests, stopped after them. */
export function useQueueRedis(): SuiteQueueRedis {
  let backend: RedisBackend | undefined;
  let queue: { port: number; process: RedisProcess } | undefined;
  let redis: Redis | undefined;
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
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the queue Redis is started in beforeAll');
    return value;
  };
  return {
    get redis() {
      return started(redis);
    },
    get port() {
      return started(queue).port;
    },
  };
}
