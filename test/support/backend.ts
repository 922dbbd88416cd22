import { inject } from 'vitest';
import { containerBackend, localBackend, type RedisBackend } from './redis-backend.js';

/** The backend global setup chose, one instance per test file. */
export async function testBackend(): Promise<RedisBackend> {
  return inject('redisBackend') === 'testcontainers' ? containerBackend() : localBackend();
}
