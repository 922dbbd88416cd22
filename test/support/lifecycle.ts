import { afterAll, afterEach, beforeAll } from 'vitest';
import { testBackend } from './backend.js';
import { type ClusterOptions, startCluster, type TestCluster } from './cluster.js';
import type { RedisBackend } from './redis-backend.js';

/** One Redis backend per test file and a fresh cluster per test, always stopped afterwards. */
export function clusterPerTest(): {
  readonly backend: RedisBackend;
  start(options?: ClusterOptions): Promise<TestCluster>;
} {
  let backend: RedisBackend | undefined;
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    backend = await testBackend();
  });
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  afterAll(async () => {
    await backend?.stopAll();
  });
  return {
    get backend(): RedisBackend {
      if (!backend) throw new Error('backend not ready: use it inside a test');
      return backend;
    },
    async start(options = {}) {
      if (!backend) throw new Error('backend not ready: use it inside a test');
      cluster = await startCluster(backend, options);
      return cluster;
    },
  };
}
